// npm run bench:tunnel: one run, side by side, of reaching an origin directly,
// through nginx as a plain reverse proxy, through an OpenSSH reverse tunnel
// (ssh -R) and through Skyway (controller service port -> agent tunnel):
// requests/s and p50/p99 for a 1 KiB GET at 64 connections (wrk), MB/s for a
// 1 GiB streamed download (curl), and memory per 1,000 idle watches (RSS of
// the proxy's processes: nginx workers; sshd and ssh; Skyway controller and
// agent). Skyway callers use HTTPS with a service token, as they must; the
// others are plain HTTP. Skyway is measured twice, each time on fresh
// processes: callers speaking HTTP/1.1 (wrk; a connection per request in
// flight, like the other rows) and HTTP/2 (h2load; what kubectl and Go
// clients negotiate, many streams per connection: 100 watches per connection),
// with the V8 flags of packages/cli/bin/node-flags, as bin/skyway starts them.
// Everything runs on loopback, under /tmp/skyway-bench-*, and is removed at the end.
//
// A last row gives the floor for idle watches: a bare Node TLS server with the
// service port's TLS settings that holds each watch's socket and nothing else.
//
// Requests/s and downloads are measured in rounds: every path in turn, three
// times, and the table gives each path's medians (one run alone swings by
// 10-40% here).
//
// Knobs (environment): SKYWAY_BENCH_SECONDS (wrk duration, 10), SKYWAY_BENCH_ROUNDS (3), SKYWAY_BENCH_WATCHES
// (1000; 0 skips), SKYWAY_BENCH_ONLY=direct,nginx,ssh,skyway,skyway h2,tls, SKYWAY_BENCH_NO_DOWNLOAD=1,
// SKYWAY_BENCH_CPU=1 (CPU per request and per GiB, memory per process),
// SKYWAY_BENCH_PROF=<dir> (CPU profiles of controller and agent), SKYWAY_BENCH_NODE_ARGS.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import * as net from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { repoRoot, start, stopAndWait, tsxLoader } from '../test/e2e/tunnel-lib.js';
import { median } from './median.js';

type Proc = Awaited<ReturnType<typeof start>>;
const dir = `/tmp/skyway-bench-${process.pid}`;
const procs: Proc[] = [];
let madeRunSshd = false;
const GiB = 1024 ** 3;
const duration = process.env.SKYWAY_BENCH_SECONDS ?? '10';
/** Load runs per path, taken in turns; the table gives their medians. */
const rounds = Number(process.env.SKYWAY_BENCH_ROUNDS ?? '3');
const watches = Number(process.env.SKYWAY_BENCH_WATCHES ?? '1000');
/** Comma-separated subset of paths to run (direct, nginx, ssh, skyway); all by default. */
const only = process.env.SKYWAY_BENCH_ONLY?.split(',');
/** Write CPU profiles of the Skyway processes to this directory. */
const profDir = process.env.SKYWAY_BENCH_PROF;
/** The V8 flags every skyway process runs with (as bin/skyway starts them). */
const nodeFlags = readFileSync(join(repoRoot, 'packages/cli/bin/node-flags'), 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'));
const nodeArgs = [
  ...nodeFlags,
  ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []),
  ...(process.env.SKYWAY_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
];

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

async function waitPort(port: number, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} did not open`);
}

async function launch(cmd: string[], opts: Parameters<typeof start>[1] = {}) {
  const p = await start(cmd, opts);
  procs.push(p);
  return p;
}

/** RSS of a process and all its descendants, bytes. */
function treeRss(root: number): number {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  const tree = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, pp] of parent)
      if (tree.has(pp) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
  }
  let sum = 0;
  for (const pid of tree) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      sum += m ? Number(m[1]) * 1024 : 0;
    } catch {}
  }
  return sum;
}

/** User+system CPU seconds of a process. */
function cpuOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
}

const toMs = (v: string) => {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v)!;
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
};

function wrk(url: string, headers: string[] = [], seconds = duration): WrkResult {
  const args = ['-t2', '-c64', `-d${seconds}s`, '--latency', ...headers.flatMap((h) => ['-H', h]), url];
  const out = execFileSync('wrk', args, { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)![1]!);
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)![1]!);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (non2xx) throw new Error(`wrk ${url}: ${non2xx[1]} non-2xx responses`);
  return { rps, p50, p99 };
}

function download(url: string, extra: string[] = []): number {
  const out = execFileSync(
    'curl',
    ['-sS', '-k', '-o', '/dev/null', '-w', '%{speed_download} %{size_download}', ...extra, url],
    {
      encoding: 'utf8',
    },
  );
  const [speed, size] = out.trim().split(' ').map(Number);
  if (size !== GiB) throw new Error(`download ${url}: got ${size} bytes`);
  return speed! / 1e6;
}

interface WatchTls {
  ca: string;
  headers: Record<string, string>;
  /** Over HTTP/2, `watchesPerConnection` streams per connection. */
  h2?: boolean;
}
const watchesPerConnection = 100;

/** Opens `watches` idle watches (a response that has started and then stays quiet); resolves when all have data. */
async function openWatches(
  url: string,
  tlsOpts?: WatchTls,
  count = watches,
): Promise<Array<{ destroy(): void }>> {
  if (tlsOpts?.h2) return openWatches2(url, tlsOpts, count);
  const reqs: http.ClientRequest[] = [];
  let opened = 0;
  await new Promise<void>((resolve, reject) => {
    const open = () => {
      const u = `${url}?every=3600000`;
      const onRes = (res: http.IncomingMessage) => {
        res.once('data', () => {
          if (++opened === count) resolve();
          else if (reqs.length < count) open();
        });
        res.on('error', () => {});
      };
      const req = tlsOpts
        ? https.get(
            u,
            { agent: false, ca: tlsOpts.ca, headers: tlsOpts.headers, rejectUnauthorized: false },
            onRes,
          )
        : http.get(u, { agent: false }, onRes);
      req.on('error', reject);
      reqs.push(req);
    };
    for (let i = 0; i < Math.min(64, count); i++) open();
  });
  return reqs;
}

/** The same over HTTP/2: `watchesPerConnection` watches share a connection, each on its own stream. */
async function openWatches2(url: string, tlsOpts: WatchTls, count: number) {
  const u = new URL(url);
  const sessions: http2.ClientHttp2Session[] = [];
  let started = 0;
  let opened = 0;
  await new Promise<void>((resolve, reject) => {
    const open = () => {
      const i = started++;
      if (i % watchesPerConnection === 0)
        sessions.push(
          http2.connect(u.origin, { ca: tlsOpts.ca, rejectUnauthorized: false }).on('error', reject),
        );
      const req = sessions[Math.floor(i / watchesPerConnection)]!.request({
        ':path': `${u.pathname}?every=3600000`,
        ...tlsOpts.headers,
      });
      req.on('error', reject);
      req.once('data', () => {
        if (++opened === count) resolve();
        else if (started < count) open();
      });
    };
    for (let i = 0; i < Math.min(64, count); i++) open();
  });
  return sessions;
}

/** h2load (HTTP/2, a stream at a time on each of 64 connections), reported like wrk. */
function h2load(url: string, headers: string[] = [], seconds = duration): WrkResult {
  const log = join(dir, 'h2load.log');
  const args = [
    '-t2',
    '-c64',
    '-m1',
    '-D',
    seconds,
    `--log-file=${log}`,
    ...headers.flatMap((h) => ['-H', h]),
    url,
  ];
  const out = execFileSync('h2load', args, { encoding: 'utf8' });
  const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)![1]);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out)!;
  if (Number(codes[3]) + Number(codes[4]) > 0)
    throw new Error(`h2load ${url}: non-2xx responses (${codes[0]})`);
  // Columns: start time (µs since the epoch), status, µs until the response ended.
  const us = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => Number(l.split('\t')[2]))
    .sort((a, b) => a - b);
  const at = (q: number) => us[Math.min(us.length - 1, Math.floor(q * us.length))]! / 1000;
  return { rps, p50: at(0.5), p99: at(0.99) };
}
const hasH2load = (() => {
  try {
    execFileSync('h2load', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Memory the proxy processes hold per idle watch (bytes): RSS of the process
 * trees with `watches` open minus before, measured on fresh processes (freed
 * memory is rarely returned to the system, so a warm-up round of the same size
 * would hide the cost). A few watches first take code paths through once.
 * Both readings come 2 s after a burst of work, so both hold its garbage:
 * waiting for RSS to settle is lopsided (V8's memory reducer then collects the
 * start-up garbage of the baseline, but no collection follows 1,000 idle
 * connections).
 */
async function idleWatches(url: string, roots: number[], tlsOpts?: WatchTls) {
  const sum = () => roots.reduce((n, r) => n + treeRss(r), 0);
  for (const r of await openWatches(url, tlsOpts, 16)) r.destroy();
  await sleep(1500);
  if (process.env.SKYWAY_BENCH_MEM) process.kill(roots[0]!, 'SIGUSR2');
  await sleep(200);
  const before = sum();
  const beforeEach = new Map(roots.map((r) => [r, treeRss(r)]));
  const reqs = await openWatches(url, tlsOpts);
  await sleep(2000);
  const afterOpen = sum();
  if (process.env.SKYWAY_BENCH_MEM) process.kill(roots[0]!, 'SIGUSR2');
  await sleep(200);
  if (process.env.SKYWAY_BENCH_CPU)
    process.stderr.write(
      `  rss per watch by process: ${roots.map((r) => `${r}:${((treeRss(r) - beforeEach.get(r)!) / watches / 1024).toFixed(1)} KiB`).join(', ')}\n`,
    );
  for (const r of reqs) r.destroy();
  await sleep(1000);
  return (afterOpen - before) / watches;
}

interface Skyway {
  roots: number[];
  base: string;
  ca: string;
  originToken: string;
  watchToken: string;
  procs: Proc[];
}

/** A fresh controller (tunnel + control API) and agent on loopback, enrolled and serving both origins. */
async function startSkyway(name: string, originPort: number, watchPort: number): Promise<Skyway> {
  const controller = await launch(
    ['node', ...nodeArgs, '--import', tsxLoader, join(repoRoot, 'test/e2e/tunnel-fixture-controller.ts')],
    {
      waitJson: true,
      log: `controller-${name}`,
      env: { SKY_HOME: join(dir, `controller-${name}`), SKY_TUNNEL_HOST: '127.0.0.1', SKY_LOG: 'warn' },
    },
  );
  const ctl = controller.ready as { api: string; adminToken: string; ca: string; urls: { service: string } };
  const api = async (path: string, body: unknown) => {
    const r = await fetch(`${ctl.api}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctl.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as Record<string, string>;
  };
  const agentHome = join(dir, `agent-${name}`);
  await mkdir(agentHome, { recursive: true });
  await writeFile(
    join(agentHome, 'bundle.yaml'),
    stringify(await api('/api/v1/agents/bench/enrollment-bundle', {})),
  );
  await writeFile(
    join(agentHome, 'agent.yaml'),
    stringify({
      home: agentHome,
      bundle: join(agentHome, 'bundle.yaml'),
      services: [
        { name: 'origin', type: 'x-bench', url: `http://127.0.0.1:${originPort}` },
        { name: 'watch', type: 'x-bench', url: `http://127.0.0.1:${watchPort}` },
      ],
    }),
  );
  const agent = await launch(
    [
      'node',
      ...nodeArgs,
      '--import',
      tsxLoader,
      join(repoRoot, 'packages/cli/src/main.ts'),
      'agent',
      'run',
      '--config',
      join(agentHome, 'agent.yaml'),
      '--log-level',
      'warn',
    ],
    { log: `agent-${name}` },
  );
  const token = async (serviceName: string) =>
    (await api('/api/v1/agents/bench/service-credentials', { serviceType: 'x-bench', serviceName })).token!;
  const originToken = await token('origin');
  const watchToken = await token('watch');
  const base = ctl.urls.service.replace('localhost', '127.0.0.1');
  for (let i = 0; ; i++) {
    const code = execFileSync(
      'curl',
      [
        '-sk',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-H',
        `Authorization: Bearer ${originToken}`,
        `${base}/1k`,
      ],
      { encoding: 'utf8' },
    );
    if (code === '200') break;
    if (i > 100) throw new Error(`skyway not ready (${code})`);
    await sleep(200);
  }
  return {
    roots: [controller.child.pid!, agent.child.pid!],
    base,
    ca: ctl.ca,
    originToken,
    watchToken,
    procs: [controller, agent],
  };
}

async function stopSkyway(s: Skyway) {
  for (const p of s.procs) {
    await stopAndWait(p.child);
    procs.splice(procs.indexOf(p), 1);
  }
}

async function main() {
  await mkdir(join(dir, 'www'), { recursive: true });
  await writeFile(join(dir, 'www', '1k'), Buffer.alloc(1024, 0x61));
  execFileSync('truncate', ['-s', String(GiB), join(dir, 'www', 'big')]);
  for (const t of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
    await mkdir(join(dir, 'nginx', t), { recursive: true });
  execFileSync('chmod', ['-R', 'a+rX', dir]);

  // --- origins: nginx (static 1 KiB and 1 GiB) and a Node watch origin ---
  const originPort = await freePort();
  const watchPort = await freePort();
  const nginxCommon = (name: string) => `
daemon off;
worker_processes auto;
pid ${dir}/${name}.pid;
error_log ${dir}/${name}-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx/client_body;
  proxy_temp_path ${dir}/nginx/proxy;
  fastcgi_temp_path ${dir}/nginx/fastcgi;
  uwsgi_temp_path ${dir}/nginx/uwsgi;
  scgi_temp_path ${dir}/nginx/scgi;
  keepalive_requests 1000000;
  sendfile on;`;
  await writeFile(
    join(dir, 'origin.conf'),
    `${nginxCommon('origin')}
  server { listen 127.0.0.1:${originPort}; root ${dir}/www; location /watch { proxy_pass http://127.0.0.1:${watchPort}; proxy_buffering off; } }
}
`,
  );
  await launch(['nginx', '-e', `${dir}/origin-error.log`, '-p', dir, '-c', join(dir, 'origin.conf')], {
    log: 'nginx-origin',
  });
  await launch(['node', '--import', tsxLoader, join(repoRoot, 'test/e2e/tunnel-fixture-origin.ts')], {
    waitJson: true,
    env: { SKY_ORIGIN_HOST: '127.0.0.1', SKY_ORIGIN_PORT: String(watchPort) },
  });
  await waitPort(originPort);

  // --- nginx as a plain reverse proxy ---
  const proxyPort = await freePort();
  await writeFile(
    join(dir, 'proxy.conf'),
    `${nginxCommon('proxy')}
  upstream origin { server 127.0.0.1:${originPort}; keepalive 128; }
  upstream watch { server 127.0.0.1:${watchPort}; }
  server {
    listen 127.0.0.1:${proxyPort};
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }
    location /watch { proxy_pass http://watch; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; proxy_read_timeout 1h; }
  }
}
`,
  );
  const nginxProxy = await launch(
    ['nginx', '-e', `${dir}/proxy-error.log`, '-p', dir, '-c', join(dir, 'proxy.conf')],
    {
      log: 'nginx-proxy',
    },
  );
  await waitPort(proxyPort);

  // --- OpenSSH reverse tunnel: sshd on loopback, ssh -R ---
  const sshdPort = await freePort();
  const sshPort = await freePort();
  const sshWatchPort = await freePort();
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'user_key')]);
  await writeFile(join(dir, 'authorized_keys'), readFileSync(join(dir, 'user_key.pub')), { mode: 0o600 });
  await writeFile(
    join(dir, 'sshd_config'),
    `ListenAddress 127.0.0.1
Port ${sshdPort}
HostKey ${dir}/host_key
PidFile ${dir}/sshd.pid
AuthorizedKeysFile ${dir}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding remote
GatewayPorts no
`,
  );
  if (!existsSync('/run/sshd')) {
    await mkdir('/run/sshd', { mode: 0o755 });
    madeRunSshd = true;
  }
  const sshd = await launch(['/usr/sbin/sshd', '-D', '-e', '-f', join(dir, 'sshd_config')], { log: 'sshd' });
  await waitPort(sshdPort);
  const sshClient = await launch(
    [
      'ssh',
      '-N',
      '-i',
      join(dir, 'user_key'),
      '-p',
      String(sshdPort),
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'ExitOnForwardFailure=yes',
      '-o',
      'LogLevel=ERROR',
      '-R',
      `127.0.0.1:${sshPort}:127.0.0.1:${originPort}`,
      '-R',
      `127.0.0.1:${sshWatchPort}:127.0.0.1:${watchPort}`,
      'root@127.0.0.1',
    ],
    { log: 'ssh' },
  );
  await waitPort(sshPort);

  const rows: Array<Record<string, string>> = [];
  const fmt = (n: number, d = 0) =>
    n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const paths = [
    {
      name: 'direct',
      base: `http://127.0.0.1:${originPort}`,
      watch: `http://127.0.0.1:${watchPort}/watch`,
      roots: [] as number[],
    },
    {
      name: 'nginx proxy',
      base: `http://127.0.0.1:${proxyPort}`,
      watch: `http://127.0.0.1:${proxyPort}/watch`,
      roots: [nginxProxy.child.pid!],
    },
    {
      name: 'ssh -R',
      base: `http://127.0.0.1:${sshPort}`,
      watch: `http://127.0.0.1:${sshWatchPort}/watch`,
      roots: [sshd.child.pid!, sshClient.child.pid!],
    },
    // Skyway callers speak HTTPS (HTTP/1.1: a connection per request in flight, like the rows above),
    // then HTTP/2 (what kubectl and Go clients negotiate: many requests over a few connections).
    { name: 'skyway', base: '', watch: '', roots: [] as number[], skyway: 'http1.1' as const },
    { name: 'skyway h2', base: '', watch: '', roots: [] as number[], skyway: 'http2' as const },
  ];
  const results: Record<string, { w?: WrkResult; mbs: number; watch?: number }> = {};
  const chosen = paths.filter(
    (p) => !only || only.some((o) => p.name === o || (o !== 'skyway' && p.name.startsWith(o))),
  );
  const skyways: Skyway[] = [];
  /** Each path's request headers (Skyway's carry a service token). */
  const headersOf = new Map<string, string[]>();
  // Memory first, each Skyway row on fresh processes (later phases leave garbage that skews RSS).
  for (const p of chosen) {
    process.stderr.write(`bench: ${p.name} ...\n`);
    let tlsOpts: WatchTls | undefined;
    let headers: string[] = [];
    if (p.skyway) {
      const sky = await startSkyway(p.skyway, originPort, watchPort);
      skyways.push(sky);
      p.base = sky.base;
      p.watch = `${sky.base}/watch`;
      p.roots = sky.roots;
      headers = [`Authorization: Bearer ${sky.originToken}`];
      tlsOpts = {
        ca: sky.ca,
        headers: { authorization: `Bearer ${sky.watchToken}` },
        h2: p.skyway === 'http2',
      };
    }
    headersOf.set(p.name, headers);
    results[p.name] = { mbs: 0 };
    if (p.roots.length && watches > 0) results[p.name]!.watch = await idleWatches(p.watch, p.roots, tlsOpts);
  }
  // Requests/s and downloads: the paths take turns, `rounds` times, and each reports its medians.
  // The machine's speed drifts by 10-40% over a minute; turns spread that over every path alike.
  const runs = new Map<string, WrkResult[]>();
  const downloads = new Map<string, number[]>();
  /** Each path's figures by round, with the CPU its processes used (printed with SKYWAY_BENCH_CPU). */
  const byRound = new Map<string, string[]>();
  const note = (what: string, figure: string, used: number[], unit: string) =>
    byRound.set(what, [
      ...(byRound.get(what) ?? []),
      `${figure} (${used.map((x) => x.toFixed(unit === 's' ? 1 : 0)).join(' + ')} ${unit})`,
    ]);
  for (let round = 0; round < rounds; round++)
    for (const p of chosen) {
      process.stderr.write(`bench: ${p.name}, round ${round + 1} of ${rounds}\n`);
      const headers = headersOf.get(p.name)!;
      const h2 = p.skyway === 'http2';
      if (!h2 || hasH2load) {
        const load = h2 ? h2load : wrk;
        if (round === 0) load(`${p.base}/1k`, headers, '2'); // warm-up
        const cpu0 = p.roots.map(cpuOf);
        const w = load(`${p.base}/1k`, headers);
        runs.set(p.name, [...(runs.get(p.name) ?? []), w]);
        const perReq = p.roots.map((r, i) => ((cpuOf(r) - cpu0[i]!) / (w.rps * Number(duration))) * 1e6);
        note(`${p.name} req/s`, fmt(w.rps), perReq, 'us/req');
      }
      if (process.env.SKYWAY_BENCH_NO_DOWNLOAD) continue;
      // Read just before, so that every row downloads from the page cache: a read from the disk runs at a
      // fraction of that, and this machine reclaims pages left cold for a few minutes (kdamond).
      execFileSync('cat', [join(dir, 'www', 'big')], { stdio: ['ignore', 'ignore', 'inherit'] });
      const cpu1 = p.roots.map(cpuOf);
      const mbs = download(`${p.base}/big`, p.skyway ? [`--${p.skyway}`, '-H', headers[0]!] : []);
      downloads.set(p.name, [...(downloads.get(p.name) ?? []), mbs]);
      note(
        `${p.name} download MB/s`,
        fmt(mbs),
        p.roots.map((r, i) => cpuOf(r) - cpu1[i]!),
        's',
      );
    }
  if (process.env.SKYWAY_BENCH_CPU)
    for (const [what, figures] of byRound)
      process.stderr.write(`  ${what} by round: ${figures.join(', ')}\n`);
  for (const p of chosen) {
    const r = results[p.name]!;
    const ws = runs.get(p.name);
    if (ws)
      r.w = {
        rps: median(ws.map((w) => w.rps)),
        p50: median(ws.map((w) => w.p50)),
        p99: median(ws.map((w) => w.p99)),
      };
    r.mbs = median(downloads.get(p.name) ?? [0]);
    rows.push({
      path: p.name,
      'req/s': r.w ? fmt(r.w.rps) : '-',
      'p50 ms': r.w ? fmt(r.w.p50, 2) : '-',
      'p99 ms': r.w ? fmt(r.w.p99, 2) : '-',
      'download MB/s': fmt(r.mbs),
      'KiB/idle watch': r.watch === undefined ? '-' : fmt(r.watch / 1024, 1),
    });
  }
  for (const sky of skyways) await stopSkyway(sky);
  // The floor for any Node TLS terminator: a bare Node TLS server (the service port's TLS settings)
  // holding each idle watch's socket and nothing else, measured the same way.
  if (watches > 0 && (!only || only.includes('tls'))) {
    process.stderr.write('bench: node tls floor ...\n');
    const floor = await launch(
      ['node', ...nodeFlags, '--import', tsxLoader, join(repoRoot, 'test/e2e/tunnel-fixture-tls.ts')],
      { waitJson: true, log: 'tls-floor' },
    );
    const f = floor.ready as { url: string; ca: string };
    const watch = await idleWatches(`${f.url}/watch`, [floor.child.pid!], { ca: f.ca, headers: {} });
    rows.push({
      path: 'node tls (floor)',
      'req/s': '-',
      'p50 ms': '-',
      'p99 ms': '-',
      'download MB/s': '-',
      'KiB/idle watch': fmt(watch / 1024, 1),
    });
  }
  const cols = Object.keys(rows[0]!);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c]!.length)));
  const line = (v: string[]) =>
    v.map((x, i) => (i === 0 ? x.padEnd(width[i]!) : x.padStart(width[i]!))).join('  ');
  console.log(
    `\n1 KiB GET, 64 connections, ${duration}s (wrk; h2load for HTTP/2), 1 GiB download (curl); medians of ${rounds} rounds taken in turns; ${watches} idle watches\n`,
  );
  console.log(line(cols));
  for (const r of rows) console.log(line(cols.map((c) => r[c]!)));
  const ssh = results['ssh -R'];
  if (!ssh?.w) return;
  console.log('\ntargets (skyway vs ssh -R):');
  const check = (ok: boolean, what: string) => console.log(`  ${ok ? 'ok  ' : 'MISS'} ${what}`);
  for (const name of ['skyway', 'skyway h2']) {
    const s = results[name];
    if (!s) continue;
    if (s.w) {
      check(s.w.rps >= 1.5 * ssh.w.rps, `${name}: req/s ${fmt(s.w.rps)} >= 1.5 x ${fmt(ssh.w.rps)}`);
      check(s.w.p99 < ssh.w.p99, `${name}: p99 ${fmt(s.w.p99, 2)} ms < ${fmt(ssh.w.p99, 2)} ms`);
    }
    if (s.mbs) check(s.mbs >= ssh.mbs, `${name}: download ${fmt(s.mbs)} MB/s >= ${fmt(ssh.mbs)} MB/s`);
    if (s.watch !== undefined)
      check(s.watch < 20 * 1024, `${name}: idle watch ${fmt(s.watch / 1024, 1)} KiB < 20 KiB`);
  }
}

async function cleanup() {
  for (const p of procs.reverse()) await stopAndWait(p.child);
  if (madeRunSshd) await rm('/run/sshd', { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
}

try {
  await main();
} catch (e) {
  console.error(`bench failed: ${(e as Error).stack}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
