// Helpers for the lab end-to-end tests: root gating, servers and probes
// inside namespaces. Everything they start is tracked and stopped by pid.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type InProcessFactory,
  parseConfig,
  type RunningController,
  startController,
} from '@skyway/controller';
import { ExecRunner, killPids, sleep, teardown } from '@skyway/dataplane';
import { createLocalPlugin, type LocalPlugin } from '@skyway/plugin-local';

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

/**
 * The lab plugin for a controller, taking its state directory and internet
 * namespace from the cloud's config (the CLI's own factory always uses the
 * shared `sky.inet`); each instance made is pushed to `made`.
 */
export const labPlugins =
  (made: LocalPlugin[]): InProcessFactory =>
  ({ cloud, controller, config: c }) => {
    const p = createLocalPlugin({
      cloud,
      controller,
      stateDir: String(c.stateDir),
      internet: String(c.internet),
      allowCommands: true,
    });
    made.push(p);
    return p;
  };

export interface LabController {
  ctl: RunningController;
  plugins: LocalPlugin[];
  /** inject() with the admin token. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read the JSON answers field by field
  call(method: string, url: string, body?: unknown): Promise<{ status: number; json: any }>;
  /** Stops the controller and removes every namespace, process and file of the test. */
  close(): Promise<void>;
}

/**
 * An in-process controller (no port; inject()) over lab clouds `<id>-<cloud>`
 * in namespace `default`, sharing the internet namespace `sky.<id>.inet`, each
 * with its state under /tmp/skyway-<id>-<cloud>.
 */
export async function startLabController(
  id: string,
  clouds: string[],
  settings: Record<string, unknown> = {},
): Promise<LabController> {
  const home = mkdtempSync(join(tmpdir(), 'skyway-labctl-'));
  const dirs = clouds.map((c) => `/tmp/skyway-${id}-${c}`);
  const plugins: LocalPlugin[] = [];
  let ctl: RunningController | undefined;
  const close = async () => {
    await ctl?.close().catch(() => {});
    for (const p of plugins) await p.destroyLab().catch(() => {});
    await teardown(runner, { prefix: `sky.${id}`, dirs });
    rmSync(home, { recursive: true, force: true });
  };
  try {
    const config = parseConfig(
      {
        listen: '127.0.0.1:0',
        poll_interval: 0,
        ...settings,
        namespaces: {
          default: {
            clouds: Object.fromEntries(
              clouds.map((c, i) => [
                `${id}-${c}`,
                { plugin: 'local', config: { stateDir: dirs[i], internet: `sky.${id}.inet` } },
              ]),
            ),
          },
        },
      },
      'test',
      home,
    );
    ctl = await startController({
      config,
      listen: false,
      inProcessPlugins: { local: labPlugins(plugins) },
    });
  } catch (e) {
    await close();
    throw e;
  }
  const running = ctl;
  return {
    ctl: running,
    plugins,
    close,
    call: async (method, url, body) => {
      const res = await running.app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${running.adminToken}` },
        ...(body === undefined ? {} : { payload: body as object }),
      });
      return { status: res.statusCode, json: res.body ? JSON.parse(res.body) : undefined };
    },
  };
}
