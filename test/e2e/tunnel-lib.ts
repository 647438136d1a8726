// Helpers shared by the tunnel end-to-end tests and bench/tunnel.ts.
import { once } from 'node:events';
import type * as http from 'node:http';
import type * as http2 from 'node:http2';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
  agent?: https.Agent | false;
}

/** One HTTPS request, body collected. */
export function call(url: string, opts: CallOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: opts.method ?? 'GET',
        headers: opts.headers,
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        servername: opts.servername,
        agent: opts.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** One HTTP/2 request on `session`, body collected; `chunks` counts the DATA chunks received. */
export function call2(
  session: http2.ClientHttp2Session,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Reply & { chunks: number }> {
  return new Promise((resolve, reject) => {
    const req = session.request(
      { ':method': opts.method ?? 'GET', ':path': path, ...opts.headers },
      { endStream: opts.body === undefined },
    );
    const chunks: Buffer[] = [];
    let status = 0;
    let headers: http.IncomingHttpHeaders = {};
    req.on('response', (h) => {
      status = Number(h[':status']);
      headers = h as http.IncomingHttpHeaders;
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve({ status, headers, body: Buffer.concat(chunks), chunks: chunks.length }));
    req.on('error', reject);
    if (opts.body !== undefined) req.end(opts.body);
  });
}

/** Opens a raw TLS connection, sends an upgrade request and returns the socket after the response head. */
export async function upgrade(
  url: string,
  headers: Record<string, string>,
  tlsOpts: { ca: string; servername?: string },
): Promise<{ head: string; socket: tls.TLSSocket; rest: Buffer }> {
  const u = new URL(url);
  const socket = tls.connect({
    host: u.hostname,
    port: Number(u.port),
    ca: tlsOpts.ca,
    servername: tlsOpts.servername,
  });
  await once(socket, 'secureConnect');
  const lines = [
    `GET ${u.pathname} HTTP/1.1`,
    `host: ${u.host}`,
    'connection: Upgrade',
    'upgrade: websocket',
  ];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  while (true) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    buf = Buffer.concat([buf, chunk]);
    const end = buf.indexOf('\r\n\r\n');
    if (end >= 0) return { head: buf.subarray(0, end).toString(), socket, rest: buf.subarray(end + 4) };
  }
}

export const listenHttp = async (server: http.Server, host = '127.0.0.1', port = 0) => {
  server.listen(port, host);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
};

// ---- processes and namespaces ----
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const tsxLoader = join(repoRoot, 'node_modules/tsx/dist/esm/index.mjs');
export const skywayBin = join(repoRoot, 'packages/cli/bin/skyway');

export const sh = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** Starts a process (own process group) and resolves with the first JSON line it prints, if `waitJson`. */
export async function start(
  cmd: string[],
  opts: { env?: Record<string, string>; waitJson?: boolean; log?: string } = {},
): Promise<{ child: ChildProcess; ready: Record<string, unknown> }> {
  const child = spawn(cmd[0]!, cmd.slice(1), {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
    if (process.env.SKYWAY_TEST_LOG) process.stderr.write(`[${opts.log ?? cmd[0]}] ${d}`);
  });
  if (!opts.waitJson) {
    child.stdout!.resume();
    return { child, ready: {} };
  }
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        try {
          resolve({ child, ready: JSON.parse(buf.slice(0, nl)) });
        } catch (e) {
          reject(e);
        }
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${cmd.join(' ')} exited ${code}: ${stderr}`)));
  });
}

/** Stops a process we started, by its own process group. */
export function stop(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM') {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {}
}

export async function stopAndWait(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM') {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  stop(child, signal);
  const t = setTimeout(() => stop(child, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(t);
}

/** Resident memory of a process, bytes. */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Samples the RSS of `pids` every 100 ms until stopped; returns the peaks. */
export function sampleRss(pids: number[]) {
  const peak = new Map(pids.map((p) => [p, 0]));
  const t = setInterval(() => {
    for (const p of pids) {
      try {
        peak.set(p, Math.max(peak.get(p)!, rssOf(p)));
      } catch {}
    }
  }, 100);
  return () => {
    clearInterval(t);
    return peak;
  };
}

/**
 * An edge network: a namespace joined to the host by a veth /30. The host side
 * (controller) can reach only the namespace's veth address; the origins listen
 * on an address of the namespace's loopback that the host has no route to.
 */
export class EdgeNet {
  readonly ns: string;
  readonly hostIf: string;
  readonly nsIf: string;
  readonly hostAddr: string;
  readonly nsAddr: string;
  readonly originAddr: string;
  constructor(tag: string) {
    const n = (process.pid % 200) + 20;
    this.ns = `sky-${tag}-${process.pid}`;
    this.hostIf = `sky${tag}${n}h`.slice(0, 15);
    this.nsIf = `sky${tag}${n}n`.slice(0, 15);
    this.hostAddr = `10.250.${n}.1`;
    this.nsAddr = `10.250.${n}.2`;
    this.originAddr = `10.251.${n}.1`;
  }
  up() {
    sh('ip', ['netns', 'add', this.ns]);
    sh('ip', ['link', 'add', this.hostIf, 'type', 'veth', 'peer', 'name', this.nsIf, 'netns', this.ns]);
    sh('ip', ['addr', 'add', `${this.hostAddr}/30`, 'dev', this.hostIf]);
    sh('ip', ['link', 'set', this.hostIf, 'up']);
    const inNs = (...a: string[]) => sh('ip', ['-n', this.ns, ...a]);
    inNs('link', 'set', 'lo', 'up');
    inNs('addr', 'add', `${this.nsAddr}/30`, 'dev', this.nsIf);
    inNs('link', 'set', this.nsIf, 'up');
    inNs('addr', 'add', `${this.originAddr}/32`, 'dev', 'lo');
  }
  exec(cmd: string[]): string[] {
    return ['ip', 'netns', 'exec', this.ns, ...cmd];
  }
  down() {
    try {
      sh('ip', ['netns', 'del', this.ns]);
    } catch {}
    try {
      sh('ip', ['link', 'del', this.hostIf]);
    } catch {}
  }
}
