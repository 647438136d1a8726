// npm run bench:lab — the lab cloud under the real controller, with real packets (needs root):
//  - time from the REST call that adds a rule to the first successful TCP connection,
//    polled with curl inside the source VM every 20 ms: same VPC, across VPCs of one
//    cloud (new peering), across clouds from nothing (VPN gateways, IPsec, BGP), and
//    across clouds once the VPN is up
//  - iperf3 throughput VM to VM inside one VPC and across the VPN
// Everything it makes is `sky.<id>*` namespaces, /tmp/skyway-<id>-* and a temporary
// SKYWAY home; all of it is removed at the end, also on Ctrl-C or SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type RunningController, startController } from '@skyway/controller';
import { ExecRunner, killPids, RUN_DIR, sleep, teardown } from '@skyway/dataplane';
import { createLocalPlugin, type LocalPlugin } from '@skyway/plugin-local';
import { median } from './median.js';

const runner = new ExecRunner();
const id = `b${Math.random().toString(36).slice(2, 6)}`;
const east = `${id}-east`;
const west = `${id}-west`;
const internet = `sky.${id}.inet`;
const stateDir = (cloud: string) => `/tmp/skyway-${cloud}`;
const home = mkdtempSync(join(tmpdir(), 'skyway-benchlab-'));
const PORT = 8080;
const POLL_MS = 20;

let ctl: RunningController | undefined;
const plugins: LocalPlugin[] = [];
const children = new Set<ChildProcess>();

let cleaning: Promise<void> | undefined;
let interrupted = false;
/** Waits for fn, or for `ms` when it hangs (cleanup must finish). */
async function bounded(what: string, fn: () => Promise<unknown>, ms = 30_000) {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    fn().catch((e) => console.error(`${what}: ${(e as Error).message}`)),
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        console.error(`${what}: still running after ${ms} ms, going on`);
        resolve();
      }, ms);
    }),
  ]);
  clearTimeout(timer);
}
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await killPids(
      [...children].flatMap((c) => (c.pid && c.exitCode === null ? [c.pid] : [])),
      500,
    );
    if (ctl) {
      const c = ctl;
      // a request still in flight would keep its connection (and close()) open for the keep-alive timeout
      const closing = bounded('closing the controller', () => c.close());
      c.app.server.closeAllConnections();
      await closing;
    }
    // each waits for the plugin's operation in flight, then removes the cloud
    for (const p of plugins) await bounded(`removing ${p.cloud}`, () => p.destroyLab(), 60_000);
    const runDirs = (await readdir(RUN_DIR).catch(() => [] as string[]))
      .filter((d) => d.startsWith(`sky.${id}`))
      .map((d) => `${RUN_DIR}/${d}`);
    await bounded('teardown', () =>
      teardown(runner, { prefix: `sky.${id}`, dirs: [stateDir(east), stateDir(west), ...runDirs] }),
    );
    rmSync(home, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    interrupted = true;
    console.error(`\n${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** A child process we track (and kill on interrupt); resolves with its exit code and stdout. */
function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string }> {
  if (interrupted) return Promise.resolve({ code: -1, stdout: '' });
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  children.add(child);
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (d) => {
    stdout += d;
  });
  return new Promise((resolve) => {
    child.on('error', () => {
      children.delete(child);
      resolve({ code: -1, stdout });
    });
    child.on('close', (code) => {
      children.delete(child);
      resolve({ code: code ?? -1, stdout });
    });
  });
}

async function call(method: string, path: string, body?: unknown) {
  if (interrupted) throw new Error('interrupted');
  const res = await fetch(`${ctl!.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ctl!.adminToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

interface Vm {
  cloud: string;
  name: string;
  region: string;
  ip: string;
  tag: string;
  netns: string;
}

const httpServer = `exec ${process.execPath} -e 'require("http").createServer((q,s)=>s.end("ok")).listen(${PORT})'`;

async function vm(cloud: string, name: string, region = 'r1', server = false): Promise<Vm> {
  const r = await call('POST', `/api/v1/namespaces/default/clouds/${cloud}/resources`, {
    name,
    description: JSON.stringify({ region, ...(server ? { command: httpServer } : {}) }),
  });
  return { cloud, name, region, ip: r.ip, tag: r.tag, netns: `sky.${cloud}.v.default.${region}.${name}` };
}

const rule = (name: string, direction: 'INBOUND' | 'OUTBOUND', port: number, tag: string) => ({
  name,
  direction,
  protocol: 6,
  src_port: -1,
  dst_port: port,
  tags: [tag],
});

async function allow(from: Vm, to: Vm, port: number) {
  const base = (v: Vm) => `/api/v1/namespaces/default/clouds/${v.cloud}/resources/${v.name}/rules`;
  await call('POST', base(from), rule(`to-${to.name}-${port}`, 'OUTBOUND', port, to.tag));
  await call('POST', base(to), rule(`from-${from.name}-${port}`, 'INBOUND', port, from.tag));
}

/**
 * Milliseconds from the first REST call that opens `from` -> `to` (the source's
 * OUTBOUND rule, then the destination's INBOUND rule) to the first HTTP answer,
 * polled by a new curl inside the source VM every 20 ms (attempts overlap, so a
 * dropped SYN waiting for its retransmit does not hide a later success).
 * Also returns how long the REST calls themselves took.
 */
async function timeToFirstConnection(from: Vm, to: Vm): Promise<{ ms: number; restMs: number }> {
  const t0 = performance.now();
  let done: number | undefined;
  let stop = false;
  const attempts: Promise<unknown>[] = [];
  const poller = (async () => {
    while (!stop && done === undefined) {
      attempts.push(
        run('ip', [
          'netns',
          'exec',
          from.netns,
          'curl',
          '-s',
          '-o',
          '/dev/null',
          '--connect-timeout',
          '1',
          '--max-time',
          '2',
          `http://${to.ip}:${PORT}/`,
        ]).then((r) => {
          if (r.code === 0 && done === undefined) done = performance.now();
        }),
      );
      await sleep(POLL_MS);
    }
  })();
  let restMs = 0;
  try {
    await allow(from, to, PORT);
    restMs = performance.now() - t0;
    const until = t0 + 60_000;
    while (done === undefined && !interrupted && performance.now() < until) await sleep(5);
  } finally {
    stop = true;
    await poller;
    await Promise.all(attempts);
  }
  if (done === undefined) throw new Error(`${from.name} -> ${to.name}: no connection within 60 s`);
  return { ms: done - t0, restMs };
}

/** iperf3 from `from` to `to` for 5 s over TCP/5201; received Mbit/s. */
async function iperf(from: Vm, to: Vm): Promise<number> {
  await allow(from, to, 5201);
  const before = new Set(children);
  const server = run('ip', ['netns', 'exec', to.netns, 'iperf3', '-s', '-1']);
  const serverChild = [...children].find((c) => !before.has(c))!;
  await sleep(300);
  let out = { code: -1, stdout: '' };
  for (let i = 0; i < 20 && out.code !== 0; i++) {
    out = await run('ip', ['netns', 'exec', from.netns, 'iperf3', '-c', to.ip, '-t', '5', '-J']);
    if (out.code !== 0) await sleep(250);
  }
  if (out.code !== 0) {
    await killPids(serverChild.pid ? [serverChild.pid] : [], 500);
    throw new Error(`iperf3 ${from.name} -> ${to.name} failed: ${out.stdout.slice(0, 500)}`);
  }
  await server;
  const j = JSON.parse(out.stdout);
  return j.end.sum_received.bits_per_second / 1e6;
}

const ms = (x: number) => `${x.toFixed(0)} ms`;

async function main() {
  if (process.getuid?.() !== 0) throw new Error('bench:lab needs root (it makes network namespaces)');
  for (const tool of ['iperf3', 'curl', 'bird', 'swanctl', 'nft'])
    if (!['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => existsSync(`${d}/${tool}`)))
      throw new Error(`bench:lab needs ${tool}`);
  const cloud = (c: string) => ({ plugin: 'local', config: { stateDir: stateDir(c), internet } });
  ctl = await startController({
    config: parseConfig(
      {
        listen: '127.0.0.1:0',
        namespaces: { default: { clouds: { [east]: cloud(east), [west]: cloud(west) } } },
      },
      'bench',
      home,
    ),
    inProcessPlugins: {
      local: ({ cloud: name, controller, config: c }) => {
        const p = createLocalPlugin({
          cloud: name,
          controller,
          stateDir: String(c.stateDir),
          internet: String(c.internet),
          allowCommands: true,
        });
        plugins.push(p);
        return p;
      },
    },
  });
  const rows: string[][] = [];
  const out = (measure: string, n: number, value: string, target: string, pass?: boolean) => {
    rows.push([measure, String(n), value, target, pass === undefined ? '' : pass ? 'ok' : 'MISSED']);
    console.error(`  ${measure}: ${value}`);
  };

  const srv = await vm(east, 'srv', 'r1', true);

  console.error('same VPC: new client VM, rule pair, first connection (5 runs)');
  const same: number[] = [];
  const sameRest: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await timeToFirstConnection(await vm(east, `c${i}`), srv);
    same.push(r.ms);
    sameRest.push(r.restMs);
  }
  out('rule -> first TCP connect, same VPC (median)', 5, ms(median(same)), '< 300 ms', median(same) < 300);
  out('  same VPC, worst', 5, ms(Math.max(...same)), '< 300 ms', Math.max(...same) < 300);
  out('  same VPC, REST calls alone (median)', 5, ms(median(sameRest)), '');

  console.error('across VPCs of one cloud: client in a new VPC, peering made by the rule (3 runs)');
  const vpcs: number[] = [];
  for (let i = 0; i < 3; i++)
    vpcs.push((await timeToFirstConnection(await vm(east, `p${i}`, `r${i + 2}`), srv)).ms);
  out('rule -> first TCP connect, across VPCs (median)', 3, ms(median(vpcs)), '');
  out('  across VPCs, worst', 3, ms(Math.max(...vpcs)), '');

  console.error('across clouds from nothing: VPN gateways, IPsec, BGP');
  const w0 = await vm(west, 'w0');
  const cross = await timeToFirstConnection(w0, srv);
  out('rule -> first TCP connect, across clouds, no VPN yet', 1, ms(cross.ms), '< 15 s', cross.ms < 15_000);
  out('  of which the REST calls (VPN setup)', 1, ms(cross.restMs), '');

  console.error('across clouds with the VPN up: new client VM (3 runs)');
  const warm: number[] = [];
  for (let i = 1; i <= 3; i++) warm.push((await timeToFirstConnection(await vm(west, `w${i}`), srv)).ms);
  out('rule -> first TCP connect, across clouds, VPN up (median)', 3, ms(median(warm)), '');

  console.error('iperf3, 5 s each');
  const ipSame = await iperf(await vm(east, 'c0-ipf'), srv);
  out('iperf3 VM -> VM, same VPC', 1, `${ipSame.toFixed(0)} Mbit/s`, '');
  const ipVpn = await iperf(w0, srv);
  out('iperf3 VM -> VM, across the VPN (IPsec)', 1, `${ipVpn.toFixed(0)} Mbit/s`, '');

  const head = ['measure', 'n', 'value', 'target', 'met'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((v, i) => v.padEnd(w[i]!))
      .join('  ')
      .trimEnd();
  console.log(line(head));
  console.log(line(w.map((n) => '-'.repeat(n))));
  for (const r of rows) console.log(line(r));
}

try {
  await main();
} catch (e) {
  if (!interrupted) console.error(`bench:lab failed: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
