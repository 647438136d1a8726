// The parts of a kubeconfig (or the in-cluster service account) the agent
// needs to reach the Kubernetes API with its own credentials.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { SecretSource } from './secret-source.js';

export interface KubeTarget {
  server: string;
  ca?: string;
  insecureSkipVerify?: boolean;
  cert?: string;
  key?: string;
  token?: SecretSource;
  basic?: { username: string; password: string };
}

type Named<T> = { name: string } & T;
interface KubeconfigFile {
  'current-context'?: string;
  clusters?: Named<{ cluster: Record<string, unknown> }>[];
  users?: Named<{ user: Record<string, unknown> }>[];
  contexts?: Named<{ context: { cluster: string; user: string } }>[];
}

function data(obj: Record<string, unknown>, key: string, base: string): string | undefined {
  const inline = obj[`${key}-data`];
  if (typeof inline === 'string') return Buffer.from(inline, 'base64').toString('utf8');
  const file = obj[key];
  if (typeof file === 'string') return readFileSync(resolve(base, file), 'utf8');
  return undefined;
}

export function loadKubeconfig(path: string, context?: string): KubeTarget {
  const doc = parse(readFileSync(path, 'utf8')) as KubeconfigFile;
  const base = dirname(path);
  const ctxName = context ?? doc['current-context'];
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context;
  if (!ctx) throw new Error(`kubeconfig ${path}: context "${ctxName}" not found`);
  const cluster = doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  const user = doc.users?.find((u) => u.name === ctx.user)?.user ?? {};
  if (!cluster || typeof cluster.server !== 'string')
    throw new Error(`kubeconfig ${path}: cluster "${ctx.cluster}" has no server`);
  if (user.exec || user['auth-provider'])
    throw new Error(
      `kubeconfig ${path}: exec and auth-provider users are not supported; use a token or client certificate`,
    );
  const target: KubeTarget = {
    server: cluster.server,
    ca: data(cluster, 'certificate-authority', base),
    insecureSkipVerify: cluster['insecure-skip-tls-verify'] === true,
    cert: data(user, 'client-certificate', base),
    key: data(user, 'client-key', base),
  };
  if (typeof user.token === 'string')
    target.token = new SecretSource('kubeconfig token', { value: user.token });
  else if (typeof user.tokenFile === 'string')
    target.token = new SecretSource('kubeconfig token', { file: resolve(base, user.tokenFile) });
  if (typeof user.username === 'string' && typeof user.password === 'string')
    target.basic = { username: user.username, password: user.password };
  return target;
}

const saDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The in-cluster API server and service account (token re-read as it rotates). */
export function inClusterConfig(dir = saDir): KubeTarget {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new Error('in-cluster: KUBERNETES_SERVICE_HOST is not set (not running in a pod?)');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readFileSync(`${dir}/ca.crt`, 'utf8'),
    token: new SecretSource('service account token', { file: `${dir}/token` }),
  };
}
