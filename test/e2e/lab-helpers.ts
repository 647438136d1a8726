// Helpers for the lab end-to-end tests: root gating, servers and probes
// inside namespaces. Everything they start is tracked and stopped by pid.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ExecRunner, killPids, sleep } from '@skyway/dataplane';

export const runner = new ExecRunner();

const tools = ['ip', 'nft', 'swanctl', 'bird', 'birdc', 'curl', '/usr/lib/ipsec/charon'];

/** Why these tests cannot run here, or undefined when they can. */
export function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun';
  for (const t of tools) {
    const found = t.startsWith('/')
      ? existsSync(t)
      : ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].some((d) => existsSync(`${d}/${t}`));
    if (!found) return `needs ${t}`;
  }
  return undefined;
}

export const hasPing = () => ['/usr/bin/ping', '/bin/ping'].some(existsSync);

/** A unique, short test prefix such as `sky.t3f9a`. */
export const testId = () => `t${Math.random().toString(36).slice(2, 6)}`;

const started: number[] = [];

/** An HTTP server inside a namespace answering `body` on `port`; stopped by stopAll(). */
export async function httpServer(netns: string, port: number, body: string): Promise<number> {
  const js = `require('http').createServer((q,s)=>s.end(${JSON.stringify(body)})).listen(${port})`;
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', js], {
    stdio: 'ignore',
    detached: true,
  });
  child.unref();
  started.push(child.pid!);
  await sleep(400);
  return child.pid!;
}

export async function stopAll(): Promise<void> {
  await killPids(started.splice(0));
}

/** HTTP GET from inside a namespace; the body, or undefined when the connection fails. */
export async function httpGet(netns: string, url: string, timeoutS = 2): Promise<string | undefined> {
  const r = await runner.run('curl', ['-s', '--max-time', String(timeoutS), url], { netns, allowFail: true });
  return r.code === 0 ? r.stdout : undefined;
}

/** True when one ICMP echo gets an answer. */
export async function ping(
  netns: string,
  ip: string,
  opts: { count?: number; from?: string } = {},
): Promise<boolean> {
  const args = ['-c', String(opts.count ?? 1), '-W', '1', '-i', '0.2'];
  if (opts.from) args.push('-I', opts.from);
  const r = await runner.run('ping', [...args, ip], { netns, allowFail: true });
  return r.code === 0;
}

export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as T;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** A shell command (for a VM's description) that serves `body` over HTTP on `port`. */
export const httpCommand = (port: number, body: string) =>
  `exec ${process.execPath} -e 'require("http").createServer((q,s)=>s.end(${JSON.stringify(body)})).listen(${port})'`;

export const description = (o: Record<string, unknown>) => new TextEncoder().encode(JSON.stringify(o));

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * A REST client for a controller at `base` with a bearer token: one new
 * connection per call (no keep-alive), so a controller that died and came back
 * on the same port is reached without stale pooled sockets.
 */
export function restClient(base: string, token: () => string) {
  // biome-ignore lint/suspicious/noExplicitAny: tests read the JSON answers field by field
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
    const { request } = await import('node:http');
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        `${base}${path}`,
        {
          method,
          agent: false,
          headers: {
            authorization: `Bearer ${token()}`,
            ...(payload === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }),
          );
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  };
}
