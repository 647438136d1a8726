// The agent tunnel end to end with real processes: origins and agents live in
// a network namespace the controller cannot route into; callers reach them
// only through the controller's service port.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as https from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import {
  call,
  EdgeNet,
  type Reply,
  rssOf,
  sampleRss,
  sh,
  skywayBin,
  start,
  stop,
  stopAndWait,
  tsxLoader,
  upgrade,
} from './tunnel-lib.js';

type Proc = Awaited<ReturnType<typeof start>>;
const dir = `/tmp/skyway-e2e-tunnel-${process.pid}`;
const net1 = new EdgeNet('tn');
const kubeToken = `kube-sa-token-${createHash('sha1').update(String(Math.random())).digest('hex')}`;
const jenkinsPassword = `jenkins-pw-${createHash('sha1').update(String(Math.random())).digest('hex')}`;
const received: Reply[] = [];
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
let controller: Proc;
let origin: Proc;
const agents = new Map<string, Proc>();
let ctl: {
  urls: { tunnel: string; service: string; serverName: string };
  api: string;
  adminToken: string;
  ca: string;
};
let originPort: number;
let tunnelPort: number;
let servicePort: number;

const nodeCmd = (script: string) => ['node', '--import', tsxLoader, '--no-warnings', script];

async function startController() {
  controller = await start(nodeCmd(join(import.meta.dirname, 'tunnel-fixture-controller.ts')), {
    waitJson: true,
    log: 'controller',
    env: {
      SKY_HOME: join(dir, 'controller'),
      SKY_TUNNEL_HOST: net1.hostAddr,
      SKY_TUNNEL_PORT: String(tunnelPort ?? 0),
      SKY_SERVICE_PORT: String(servicePort ?? 0),
      SKY_KEEPALIVE_MS: '1000',
    },
  });
  ctl = controller.ready as typeof ctl;
  tunnelPort = Number(ctl.urls.tunnel.split(':').at(-1));
  servicePort = Number(new URL(ctl.urls.service).port);
}

async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
  token = ctl.adminToken,
) {
  const res = await fetch(`${ctl.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function startAgent(key: string, name: string) {
  const home = join(dir, `agent-${key}`);
  await mkdir(home, { recursive: true });
  const bundle = await api(`POST`, `/api/v1/agents/${name}/enrollment-bundle`, { ttl: '10m' });
  await writeFile(join(home, 'bundle.yaml'), stringify(bundle), { mode: 0o600 });
  const origin = `http://${net1.originAddr}:${originPort}`;
  await writeFile(join(home, 'kube.token'), kubeToken, { mode: 0o600 });
  await writeFile(join(home, 'jenkins.pw'), jenkinsPassword, { mode: 0o600 });
  await writeFile(
    join(home, 'kubeconfig'),
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'edge', cluster: { server: origin } }],
      users: [{ name: 'sa', user: { tokenFile: join(home, 'kube.token') } }],
      contexts: [{ name: 'edge', context: { cluster: 'edge', user: 'sa' } }],
      'current-context': 'edge',
    }),
  );
  await writeFile(
    join(home, 'agent.yaml'),
    stringify({
      home,
      bundle: join(home, 'bundle.yaml'),
      keepaliveMs: 1000,
      backoff: { baseMs: 200, maxMs: 1000 },
      annotations: { site: 'edge-lab', instance: key },
      services: [
        {
          name: 'prod',
          type: 'kubernetes',
          credentials: { type: 'kubeconfig', path: join(home, 'kubeconfig') },
        },
        {
          name: 'ci',
          type: 'jenkins',
          url: origin,
          credentials: { type: 'basic', username: 'robot', passwordFile: join(home, 'jenkins.pw') },
        },
        { name: 'down', type: 'x-down', url: `http://${net1.originAddr}:1` },
      ],
    }),
  );
  const p = await start(
    net1.exec([skywayBin, 'agent', 'run', '--config', join(home, 'agent.yaml'), '--log-level', 'warn']),
    {
      log: `agent-${key}`,
    },
  );
  agents.set(key, p);
  return p;
}

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const connections = async (name: string) => {
  const r = await api<{ agents: Array<{ name: string; connections: number }> }>('GET', '/api/v1/agents');
  return r.agents.find((a) => a.name === name)?.connections ?? 0;
};

let kubeCert: { certificate: string; key: string };
let jenkinsToken: string;
const svc = (path: string) => `${ctl.urls.service}${path}`;
async function get(path: string, opts: Parameters<typeof call>[1] = {}) {
  const r = await call(svc(path), { ca: ctl.ca, servername: 'localhost', ...opts });
  received.push(r);
  return r;
}
const asKube = () => ({ cert: kubeCert.certificate, key: kubeCert.key });
/** A watch (an event every 200 ms) as the kube service's client, once its first event is in. */
async function openWatch(id: string) {
  const req = https.get(svc(`/watch?every=200&id=${id}`), {
    ca: ctl.ca,
    servername: 'localhost',
    ...asKube(),
    agent: false,
  });
  const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
  await once(res, 'data');
  return { req, res };
}

let watchDone: Promise<{ events: Array<{ n: number; sentAt: number; gotAt: number }>; openMs: number }>;

before(async () => {
  await mkdir(dir, { recursive: true });
  net1.up();
  origin = await start(net1.exec(nodeCmd(join(import.meta.dirname, 'tunnel-fixture-origin.ts'))), {
    waitJson: true,
    log: 'origin',
    env: { SKY_ORIGIN_HOST: net1.originAddr, SKY_ORIGIN_LOG: join(dir, 'origin.log') },
  });
  originPort = Number(origin.ready.port);
  await startController();
  await startAgent('solo', 'edge-solo');
  await startAgent('a', 'edge-1');
  await startAgent('b', 'edge-1');
  await waitFor(
    'agents',
    async () => (await connections('edge-solo')) === 1 && (await connections('edge-1')) === 2,
    30_000,
  );
  const kc = await api<{ kubeconfig: string }>('POST', '/api/v1/agents/edge-solo/kubeconfig', { ttl: '1h' });
  const { parse } = await import('yaml');
  const user = parse(kc.kubeconfig).users[0].user;
  kubeCert = {
    certificate: Buffer.from(user['client-certificate-data'], 'base64').toString(),
    key: Buffer.from(user['client-key-data'], 'base64').toString(),
  };
  jenkinsToken = (
    await api<{ token: string }>('POST', '/api/v1/agents/edge-solo/service-credentials', {
      serviceType: 'jenkins',
      serviceName: 'ci',
      ttl: '1h',
    })
  ).token;
  // The 30 s watch runs while the other tests do.
  watchDone = new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const events: Array<{ n: number; sentAt: number; gotAt: number }> = [];
    const req = https.get(
      svc('/watch?every=1000&count=31&id=watch30'),
      { ca: ctl.ca, servername: 'localhost', ...asKube(), agent: false },
      (res) => {
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          let nl = buf.indexOf('\n');
          while (nl >= 0) {
            const e = JSON.parse(buf.slice(0, nl));
            events.push({ n: e.n, sentAt: e.sentAt, gotAt: Date.now() });
            buf = buf.slice(nl + 1);
            nl = buf.indexOf('\n');
          }
        });
        res.on('end', () => resolve({ events, openMs: Date.now() - startedAt }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
  });
});

after(async () => {
  for (const a of agents.values()) await stopAndWait(a.child);
  await stopAndWait(controller?.child);
  await stopAndWait(origin?.child);
  net1.down();
  await rm(dir, { recursive: true, force: true });
});

test('the controller side has no route into the origin namespace', () => {
  // Checked on the routing table, without sending a packet: the origin address is
  // not routed through the edge link, so only the agent (inside) can reach it.
  const route = sh('ip', ['route', 'get', net1.originAddr]);
  assert.ok(!route.includes(net1.hostIf), route);
  assert.ok(sh('ip', ['route', 'get', net1.nsAddr]).includes(net1.hostIf));
});

test('requests reach the origins through the controller with the agent credentials', async () => {
  const r = await get('/api/v1/namespaces?id=k1', asKube());
  assert.equal(r.status, 200);
  const seen = JSON.parse(r.body.toString());
  assert.equal(seen.path, '/api/v1/namespaces?id=k1');
  assert.equal(seen.headers.authorization, `sha256:${sha256(`Bearer ${kubeToken}`)}`);
  const j = await get('/job/build/api/json', { headers: { authorization: `Bearer ${jenkinsToken}` } });
  assert.equal(j.status, 200);
  const js = JSON.parse(j.body.toString());
  assert.equal(
    js.headers.authorization,
    `sha256:${sha256(`Basic ${Buffer.from(`robot:${jenkinsPassword}`).toString('base64')}`)}`,
  );
  assert.ok(!j.body.toString().includes(jenkinsToken), 'the caller token is not forwarded');
});

test('WebSocket upgrades are forwarded', async () => {
  const { head, socket } = await upgrade(
    svc('/ws'),
    { authorization: `Bearer ${jenkinsToken}` },
    { ca: ctl.ca, servername: 'localhost' },
  );
  assert.match(head, /^HTTP\/1.1 101/);
  socket.write('hello over the tunnel');
  const [d] = await once(socket, 'data');
  assert.equal(d.toString(), 'hello over the tunnel');
  socket.destroy();
});

test('wrong, expired, revoked and mis-scoped credentials get 401/403', async () => {
  assert.equal((await get('/x')).status, 401);
  assert.equal((await get('/x', { headers: { authorization: 'Bearer not-a-jwt' } })).status, 401);
  const short = await api<{ token: string }>('POST', '/api/v1/agents/edge-solo/service-credentials', {
    serviceType: 'jenkins',
    serviceName: 'ci',
    ttl: '1s',
  });
  await new Promise((r) => setTimeout(r, 2100));
  const expired = await get('/x', { headers: { authorization: `Bearer ${short.token}` } });
  assert.equal(expired.status, 401);
  assert.match(expired.body.toString(), /expired/);
  const rv = await api<{ id: string; token: string }>(
    'POST',
    '/api/v1/agents/edge-solo/service-credentials',
    {
      serviceType: 'jenkins',
      serviceName: 'ci',
    },
  );
  assert.equal((await get('/x', { headers: { authorization: `Bearer ${rv.token}` } })).status, 200);
  await api('POST', '/api/v1/ca/revocations', { id: rv.id });
  const revoked = await get('/x', { headers: { authorization: `Bearer ${rv.token}` } });
  assert.equal(revoked.status, 401);
  assert.match(revoked.body.toString(), /revoked/);
  const certRv = await api<{ id: string; certificate: string; key: string }>(
    'POST',
    '/api/v1/agents/edge-solo/service-credentials',
    { serviceType: 'jenkins', serviceName: 'ci', kind: 'certificate' },
  );
  assert.equal((await get('/x', { cert: certRv.certificate, key: certRv.key })).status, 200);
  // A watch open with the certificate is ended by its revocation, not only the requests after it.
  const watch = https.get(svc('/watch?every=200&id=revoked-watch'), {
    ca: ctl.ca,
    servername: 'localhost',
    cert: certRv.certificate,
    key: certRv.key,
    agent: false,
  });
  watch.on('error', () => {});
  const [watchRes] = (await once(watch, 'response')) as [import('node:http').IncomingMessage];
  watchRes.on('error', () => {});
  await once(watchRes, 'data');
  const watchClosed = new Promise((r) => watchRes.once('close', r));
  await api('POST', '/api/v1/ca/revocations', { id: certRv.id });
  await watchClosed;
  assert.equal(watchRes.complete, false);
  assert.equal((await get('/x', { cert: certRv.certificate, key: certRv.key })).status, 401);
  // Mis-scoped: a control token, a control certificate, an agent join token.
  const control = await api<{ token: string; certificate: { certificate: string; key: string } }>(
    'POST',
    '/api/v1/ca/control-credentials',
    { name: 'ops', role: 'admin', certificate: true },
  );
  assert.equal((await get('/x', { headers: { authorization: `Bearer ${control.token}` } })).status, 403);
  assert.equal(
    (await get('/x', { cert: control.certificate.certificate, key: control.certificate.key })).status,
    403,
  );
  const join = await api<{ token: string }>('POST', '/api/v1/agents/edge-9/enrollment-bundle', {});
  assert.equal((await get('/x', { headers: { authorization: `Bearer ${join.token}` } })).status, 403);
  // A service credential for a service the agent does not offer is routed nowhere.
  const other = await api<{ token: string }>('POST', '/api/v1/agents/edge-solo/service-credentials', {
    serviceType: 'argocd',
    serviceName: 'nope',
  });
  assert.equal((await get('/x', { headers: { authorization: `Bearer ${other.token}` } })).status, 503);
});

test('an upstream failure is a 502 with the agent reason', async () => {
  const t = await api<{ token: string }>('POST', '/api/v1/agents/edge-solo/service-credentials', {
    serviceType: 'x-down',
    serviceName: 'down',
  });
  const r = await get('/', { headers: { authorization: `Bearer ${t.token}` } });
  assert.equal(r.status, 502);
  assert.match(r.body.toString(), /ECONNREFUSED/);
});

test('the origin sees the connection close when the caller disconnects', async () => {
  const { req } = await openWatch('gone1');
  req.destroy();
  await waitFor(
    'origin close',
    async () => (await readFile(join(dir, 'origin.log'), 'utf8')).includes('"event":"closed","id":"gone1"'),
    3_000,
  );
});

test('1 GiB upload and download stream with bounded memory', async (t) => {
  const GiB = 1024 ** 3;
  const pids = [controller.child.pid!, agents.get('solo')!.child.pid!];
  const before = pids.map(rssOf);
  const stopSampling = sampleRss(pids);
  const block = Buffer.alloc(256 * 1024, 0x62);
  const up = await new Promise<Reply>((resolve, reject) => {
    const req = https.request(
      svc('/upload'),
      { method: 'POST', ca: ctl.ca, servername: 'localhost', ...asKube(), agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    let left = GiB;
    const pump = () => {
      while (left > 0) {
        left -= block.length;
        if (!req.write(block)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
  assert.equal(up.status, 200);
  assert.equal(JSON.parse(up.body.toString()).bytes, GiB);
  const downBytes = await new Promise<number>((resolve, reject) => {
    https
      .get(
        svc(`/download?bytes=${GiB}`),
        { ca: ctl.ca, servername: 'localhost', ...asKube(), agent: false },
        (res) => {
          let n = 0;
          res.on('data', (c: Buffer) => {
            n += c.length;
          });
          res.on('end', () => resolve(n));
          res.on('error', reject);
        },
      )
      .on('error', reject);
  });
  assert.equal(downBytes, GiB);
  const peaks = stopSampling();
  pids.forEach((pid, i) => {
    const growth = peaks.get(pid)! - before[i]!;
    t.diagnostic(
      `pid ${pid}: rss before ${Math.round(before[i]! / 1048576)} MiB, peak ${Math.round(peaks.get(pid)! / 1048576)} MiB`,
    );
    assert.ok(growth < 150 * 1024 * 1024, `process ${pid} grew by ${Math.round(growth / 1048576)} MiB`);
  });
});

test('two agents with one name share requests, and one dying fails no new request', async () => {
  const t = await api<{ token: string }>('POST', '/api/v1/agents/edge-1/service-credentials', {
    serviceType: 'jenkins',
    serviceName: 'ci',
  });
  const auth = { headers: { authorization: `Bearer ${t.token}` } };
  const agentA = new https.Agent({ keepAlive: true, maxSockets: 8 });
  const first = await Promise.all(Array.from({ length: 40 }, () => get('/x', { ...auth, agent: agentA })));
  assert.ok(first.every((r) => r.status === 200));
  const view = await api<{ sessions: Array<{ requests: number }> }>('GET', '/api/v1/agents/edge-1');
  assert.equal(view.sessions.length, 2);
  assert.ok(
    view.sessions.every((s) => s.requests > 0),
    `both agents served: ${JSON.stringify(view.sessions)}`,
  );
  stop(agents.get('a')!.child, 'SIGKILL');
  const after = await Promise.all(Array.from({ length: 40 }, () => get('/x', { ...auth, agent: agentA })));
  assert.deepEqual(
    after.map((r) => r.status),
    after.map(() => 200),
  );
  agentA.destroy();
});

test('a chunked watch stays open 30 s with events arriving as they are written', async () => {
  const { events, openMs } = await watchDone;
  assert.ok(openMs >= 30_000, `open ${openMs} ms`);
  assert.equal(events.length, 31);
  const lag = events.map((e) => e.gotAt - e.sentAt);
  assert.ok(Math.max(...lag) < 500, `event lag ${Math.max(...lag)} ms`);
  for (let i = 1; i < events.length; i++) assert.ok(events[i]!.gotAt - events[i - 1]!.gotAt > 500);
});

test('killing the agent fails in-flight callers with 502 within 5 s; it serves again after reconnecting', async () => {
  const inflight = get('/slow?ms=60000&id=slow1', asKube());
  const { res } = await openWatch('w2');
  const watchEnded = new Promise<number>((resolve) => {
    res.on('error', () => resolve(Date.now()));
    res.on('aborted', () => resolve(Date.now()));
    res.on('close', () => resolve(Date.now()));
  });
  await new Promise((r) => setTimeout(r, 300));
  const killedAt = Date.now();
  stop(agents.get('solo')!.child, 'SIGKILL');
  const r = await inflight;
  assert.ok(r.status === 502 || r.status === 503, `status ${r.status}`);
  assert.ok(Date.now() - killedAt < 5_000);
  assert.ok((await watchEnded) - killedAt < 5_000);
  // While it is gone: 503, at once.
  assert.equal((await get('/x', asKube())).status, 503);
  // The agent comes back (same home, already enrolled: no bundle needed) and serves again.
  await startAgent('solo', 'edge-solo');
  await waitFor('reconnect', async () => (await connections('edge-solo')) === 1);
  assert.equal((await get('/x', asKube())).status, 200);
});

test('the agent reconnects by itself when the controller comes back', async () => {
  await stopAndWait(controller.child, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 1500));
  await startController();
  await waitFor('agents reconnect', async () => (await connections('edge-solo')) === 1, 15_000);
  assert.equal((await get('/x', asKube())).status, 200);
});

test("the services' credentials never appear in anything the caller received", () => {
  assert.ok(received.length > 20);
  const secrets = [kubeToken, jenkinsPassword, Buffer.from(`robot:${jenkinsPassword}`).toString('base64')];
  for (const r of received) {
    const all = JSON.stringify(r.headers) + r.body.toString('latin1');
    for (const s of secrets) assert.ok(!all.includes(s), 'a service credential reached the caller');
  }
});
