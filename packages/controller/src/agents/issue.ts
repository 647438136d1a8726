// Credentials the control API hands out: agent enrollment bundles (join
// token, controller address, CA), service credentials (token or client
// certificate scoped to one agent service), kubectl components (a kubeconfig
// for one agent's kubernetes service) and control credentials. Every one has
// an expiry and is recorded so that it can be listed and revoked.
import { invalidArgument } from '@skyway/core';
import { stringify } from 'yaml';
import { parseDuration, type Role, roles, type TokenService } from '../auth/tokens.js';
import type { CertificateAuthority } from '../ca/ca.js';
import { checkName, checkServiceType } from '../ca/identity.js';
import type { CredentialRegistry } from '../ca/store.js';

export interface IssuerDeps {
  ca: CertificateAuthority;
  tokens: TokenService;
  registry: CredentialRegistry;
  urls: { tunnel: string; service: string; serverName: string };
}

const maxTtlMs = 365 * 86_400_000;

function ttl(text: string | undefined, fallback: string, max = maxTtlMs): number {
  const ms = parseDuration(text ?? fallback, 'ttl');
  if (ms > max) throw invalidArgument(`ttl must be at most ${Math.round(max / 86_400_000)}d`, 'ttl');
  return ms;
}

async function issueToken(
  deps: IssuerDeps,
  subject: string,
  scope: Parameters<TokenService['issue']>[0]['scope'],
  ttlMs: number,
  purpose: string,
) {
  const { token, claims } = await deps.tokens.issue({ subject, scope, ttlMs });
  const { kind: _k, ...rest } = scope;
  await deps.registry.record({
    id: claims.id,
    kind: 'token',
    purpose,
    subject,
    scope: Object.fromEntries(
      Object.entries(rest).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]),
    ),
    issuedAt: claims.issuedAt.toISOString(),
    expiresAt: claims.expiresAt.toISOString(),
  });
  return { token, id: claims.id, expiresAt: claims.expiresAt.toISOString() };
}

/** A join token with everything an agent needs to enroll once. */
export async function issueEnrollmentBundle(deps: IssuerDeps, agent: string, ttlText?: string) {
  checkName(agent, 'agent');
  const t = await issueToken(
    deps,
    `agent:${agent}`,
    { kind: 'join', agent },
    ttl(ttlText, '1h', 7 * 86_400_000),
    'join',
  );
  return {
    id: t.id,
    bundle: {
      apiVersion: 'skyway.dev/v1' as const,
      kind: 'AgentEnrollment' as const,
      agent,
      controller: deps.urls.tunnel,
      serverName: deps.urls.serverName,
      ca: deps.ca.certPem,
      token: t.token,
      expiresAt: t.expiresAt,
    },
  };
}

export interface ServiceCredentialRequest {
  agent: string;
  serviceType: string;
  serviceName: string;
  ttl?: string;
  kind?: 'token' | 'certificate';
}

export async function issueServiceToken(deps: IssuerDeps, r: Omit<ServiceCredentialRequest, 'kind'>) {
  const c = await issueServiceCredentials(deps, { ...r, kind: 'token' });
  if (c.kind !== 'token') throw new Error('unreachable');
  return c;
}

export async function issueServiceCertificate(deps: IssuerDeps, r: Omit<ServiceCredentialRequest, 'kind'>) {
  const c = await issueServiceCredentials(deps, { ...r, kind: 'certificate' });
  if (c.kind !== 'certificate') throw new Error('unreachable');
  return c;
}

export async function issueServiceCredentials(deps: IssuerDeps, r: ServiceCredentialRequest) {
  checkName(r.agent, 'agent');
  checkServiceType(r.serviceType);
  checkName(r.serviceName, 'serviceName');
  const ttlMs = ttl(r.ttl, '30d');
  const subject = `service:${r.agent}/${r.serviceType}/${r.serviceName}`;
  const base = {
    agent: r.agent,
    serviceType: r.serviceType,
    serviceName: r.serviceName,
    url: deps.urls.service,
    ca: deps.ca.certPem,
  };
  if ((r.kind ?? 'token') === 'token') {
    const t = await issueToken(
      deps,
      subject,
      { kind: 'service', agent: r.agent, serviceType: r.serviceType, serviceName: r.serviceName },
      ttlMs,
      'service',
    );
    return { ...base, kind: 'token' as const, id: t.id, token: t.token, expiresAt: t.expiresAt };
  }
  const c = await deps.ca.issueClientWithKey(
    { kind: 'service', agent: r.agent, serviceType: r.serviceType, serviceName: r.serviceName },
    ttlMs,
  );
  return {
    ...base,
    kind: 'certificate' as const,
    id: c.serial,
    certificate: c.certPem,
    key: c.keyPem,
    expiresAt: c.notAfter.toISOString(),
  };
}

/** A kubeconfig that points kubectl at the controller for one agent's kubernetes service. */
export async function issueKubeconfig(
  deps: IssuerDeps,
  agent: string,
  serviceName: string,
  ttlText?: string,
) {
  const c = await issueServiceCertificate(deps, {
    agent,
    serviceType: 'kubernetes',
    serviceName,
    ttl: ttlText,
  });
  const name = `skyway-${agent}-${serviceName}`;
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const kubeconfig = stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        cluster: {
          server: deps.urls.service,
          'certificate-authority-data': b64(deps.ca.certPem),
          'tls-server-name': deps.urls.serverName,
        },
      },
    ],
    users: [{ name, user: { 'client-certificate-data': b64(c.certificate), 'client-key-data': b64(c.key) } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
  });
  return { id: c.id, expiresAt: c.expiresAt, kubeconfig };
}

/** A control API token (and optionally a client certificate) for a person or automation. */
export async function issueControlCredentials(
  deps: IssuerDeps,
  r: { name: string; role: Role; namespaces?: string[]; ttl?: string; certificate?: boolean },
) {
  checkName(r.name, 'name');
  if (!roles.includes(r.role)) throw invalidArgument(`role must be one of ${roles.join(', ')}`, 'role');
  const namespaces = r.namespaces?.length ? r.namespaces : ['*'];
  const ttlMs = ttl(r.ttl, '30d');
  const t = await issueToken(
    deps,
    `control:${r.name}`,
    { kind: 'api', role: r.role, namespaces },
    ttlMs,
    'control',
  );
  const out: Record<string, unknown> = {
    id: t.id,
    name: r.name,
    role: r.role,
    namespaces,
    token: t.token,
    expiresAt: t.expiresAt,
  };
  if (r.certificate) {
    const c = await deps.ca.issueClientWithKey(
      { kind: 'control', name: r.name, role: r.role, namespaces },
      ttlMs,
    );
    out.certificate = { id: c.serial, certificate: c.certPem, key: c.keyPem, ca: deps.ca.certPem };
  }
  return out;
}
