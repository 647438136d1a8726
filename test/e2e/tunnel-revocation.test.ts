// One revocation list for every credential kind, consulted by every listener:
// a whole controller (REST API, plugin callback gRPC, tunnel port, service
// port) with an agent connected in-process, on loopback. For each kind the
// credential works (where its kind is meant to), is revoked through the API,
// and is then refused on every listener, and what it held open through the
// tunnel is cut. The delay from the revocation's answer to each refusal is
// printed (the assertions are on refusal, not on timing).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tls from 'node:tls';
import { Code, ConnectError } from '@connectrpc/connect';
import { Agent, type EnrollmentBundle, IdentityStore } from '@skyway/agent';
import { parseConfig, type RunningController, startController } from '@skyway/controller';
import { connectController } from '@skyway/plugin-sdk';
import pino from 'pino';
import { call, listenHttp } from './tunnel-lib.js';

const logger = pino({ level: process.env.SKYWAY_TEST_LOG ?? 'silent' });
let home: string;
let c: RunningController;
let origin: http.Server;
const agents: Agent[] = [];
/** [kind, listener, ms from the revocation's answer to the refusal]. */
const delays: Array<[string, string, number]> = [];

interface Cred {
  token?: string;
  cert?: string;
  key?: string;
}

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'skyway-revoke-'));
  origin = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    // A watch: the first line, then nothing until the caller goes away.
    if (req.url === '/hold') res.write('first\n');
    else res.end('ok');
  });
  const originPort = await listenHttp(origin);
  c = await startController({
    config: parseConfig({ listen: '127.0.0.1:0', poll_interval: 0 }, 'test', home),
    logger: logger as never,
  });
  for (const name of ['edge-1', 'edge-2']) {
    const bundle = (await api('POST', `/api/v1/agents/${name}/enrollment-bundle`, {}))
      .json as EnrollmentBundle;
    const agent = new Agent({
      home: join(home, name),
      bundle,
      logger,
      keepaliveMs: 1000,
      backoff: { baseMs: 50, maxMs: 200 },
      services: [{ name: 'web', type: 'x-web', url: `http://127.0.0.1:${originPort}` }],
    });
    agents.push(agent);
    void agent.run();
    await once(agent, 'connected');
    while (!c.tunnel.agents.has(name)) await sleep(20);
  }
});

after(async () => {
  for (const a of agents) await a.stop();
  await c?.close();
  origin?.close();
  await rm(home, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function api(method: string, path: string, body?: unknown, token = c.adminToken) {
  const res = await fetch(`${c.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, text };
}

const serviceCreds = async (agent: string, kind: 'token' | 'certificate') =>
  (
    await api('POST', `/api/v1/agents/${agent}/service-credentials`, {
      serviceType: 'x-web',
      serviceName: 'web',
      kind,
    })
  ).json as { id: string; token?: string; certificate?: string; key?: string };

const tunnelUrl = () => `https://${c.tunnel.urls.tunnel}`;
const tlsOf = (cred: Cred) => ({ ca: c.tunnel.caPem, cert: cred.cert, key: cred.key });

// ---- one probe per listener: the status (or gRPC code) and the message ----

async function rest(cred: Cred) {
  if (!cred.token) return { status: 401, text: 'no bearer credential for REST' };
  const r = await api('GET', '/api/v1/agents', undefined, cred.token);
  return { status: r.status, text: r.text };
}

async function grpc(cred: Cred) {
  if (!cred.token) return { status: Code.Unauthenticated, text: 'no bearer credential for gRPC' };
  const conn = connectController({ url: c.callbackUrl, token: cred.token });
  try {
    await conn.client.getValue({ key: 'probe' });
    return { status: 0, text: 'ok' };
  } catch (e) {
    const ce = ConnectError.from(e);
    return { status: ce.code, text: ce.rawMessage };
  } finally {
    conn.close();
  }
}

async function service(cred: Cred) {
  const headers: Record<string, string> = cred.token ? { authorization: `Bearer ${cred.token}` } : {};
  const r = await call(`${c.tunnel.urls.service}/x`, { ...tlsOf(cred), headers });
  return { status: r.status, text: r.body.toString() };
}

/** The tunnel port: enrollment with a token, renewal with a certificate. */
async function tunnelPort(cred: Cred) {
  const r = cred.cert
    ? await call(`${tunnelUrl()}/v1/renew`, {
        ...tlsOf(cred),
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ csr: 'x', timeMs: Date.now() }),
      })
    : await call(`${tunnelUrl()}/v1/enroll`, {
        ca: c.tunnel.caPem,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: cred.token, csr: 'x', timeMs: Date.now() }),
      });
  return { status: r.status, text: r.body.toString() };
}

/** Opening a tunnel (ALPN skyway-tunnel/1) with a certificate: 'open' when the controller starts HTTP/2 on it. */
async function openTunnel(cred: Cred): Promise<'open' | 'refused'> {
  const [host, port] = [c.tunnel.urls.tunnel.split(':')[0]!, Number(c.tunnel.urls.tunnel.split(':')[1])];
  const sock = tls.connect({ host, port, ...tlsOf(cred), ALPNProtocols: ['skyway-tunnel/1'] });
  sock.on('error', () => {});
  const got = await new Promise<'open' | 'refused'>((resolve) => {
    sock.once('data', () => resolve('open'));
    sock.once('close', () => resolve('refused'));
  });
  sock.destroy();
  return got;
}

const refusedHttp = (r: { status: number; text: string }) => r.status === 401 && /revoked/.test(r.text);
const refusedGrpc = (r: { status: number; text: string }) =>
  r.status === Code.Unauthenticated && /revoked/.test(r.text);

/** Revokes `id` through the API and waits for each listener to refuse `cred`, noting the delays. */
async function revokeAndCheck(kind: string, id: string, cred: Cred, via: 'ca' | 'tokens' = 'ca') {
  const r =
    via === 'ca'
      ? await api('POST', '/api/v1/ca/revocations', { id })
      : await api('DELETE', `/api/v1/tokens/${id}`);
  assert.ok(r.status === 200 || r.status === 201, `revoking ${kind}: ${r.status} ${r.text}`);
  const t0 = performance.now();
  const probes: Array<[string, () => Promise<boolean>]> = [
    ['rest', async () => refusedHttp(await rest(cred)) || !cred.token],
    ['grpc', async () => refusedGrpc(await grpc(cred)) || !cred.token],
    ['service', async () => refusedHttp(await service(cred))],
    ['tunnel', async () => refusedHttp(await tunnelPort(cred))],
  ];
  for (const [listener, refused] of probes) {
    // Refused at once is what we expect; a later refusal is still measured (the test only fails if it never comes).
    const deadline = t0 + 5_000;
    let ok = await refused();
    while (!ok && performance.now() < deadline) {
      await sleep(20);
      ok = await refused();
    }
    assert.ok(ok, `${kind}: still accepted on the ${listener} listener after revocation`);
    if (listener === 'rest' && !cred.token) continue;
    if (listener === 'grpc' && !cred.token) continue;
    delays.push([kind, listener, performance.now() - t0]);
  }
}

/** A watch through the tunnel; resolves `closed` when the controller cuts it. */
async function watch(cred: Cred) {
  const req = https.get(`${c.tunnel.urls.service}/hold`, {
    ...tlsOf(cred),
    headers: cred.token ? { authorization: `Bearer ${cred.token}` } : {},
    agent: false,
  });
  req.on('error', () => {});
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  assert.equal(res.statusCode, 200);
  res.on('error', () => {});
  await once(res, 'data');
  let closedAt = 0;
  const closed = new Promise<void>((r) =>
    res.once('close', () => {
      closedAt = performance.now();
      r();
    }),
  );
  return { closed, closedAt: () => closedAt };
}

test('API token (store): refused on every listener once revoked through /ca/revocations', async () => {
  const issued = (
    await api('POST', '/api/v1/tokens', { subject: 'ops', role: 'admin', namespaces: ['*'], ttl: '1h' })
  ).json as { id: string; token: string };
  const cred = { token: issued.token };
  assert.equal((await rest(cred)).status, 200);
  // It cannot open a watch through the tunnel at all: the service port refuses API tokens.
  assert.equal((await service(cred)).status, 403);
  await revokeAndCheck('api token', issued.id, cred);
});

test('control credentials (token and certificate): refused once revoked; the token on REST too', async () => {
  const issued = (
    await api('POST', '/api/v1/ca/control-credentials', { name: 'ops', role: 'admin', certificate: true })
  ).json as { id: string; token: string; certificate: { id: string; certificate: string; key: string } };
  const token = { token: issued.token };
  assert.equal((await rest(token)).status, 200);
  await revokeAndCheck('control token', issued.id, token);
  const cert = { cert: issued.certificate.certificate, key: issued.certificate.key };
  // A control certificate reaches no agent service and opens no tunnel, revoked or not.
  assert.equal((await service(cert)).status, 403);
  assert.equal(await openTunnel(cert), 'refused');
  await revokeAndCheck('control certificate', issued.certificate.id, cert);
  assert.equal(await openTunnel(cert), 'refused');
});

for (const kind of ['token', 'certificate'] as const) {
  test(`service ${kind}: revoked, it is refused everywhere and its watch through the tunnel is cut`, async () => {
    const issued = await serviceCreds('edge-1', kind);
    const cred = kind === 'token' ? { token: issued.token } : { cert: issued.certificate, key: issued.key };
    assert.equal((await service(cred)).status, 200);
    const w = await watch(cred);
    const t0 = performance.now();
    await revokeAndCheck(`service ${kind}`, issued.id, cred);
    await w.closed;
    delays.push([`service ${kind}`, 'watch cut', w.closedAt() - t0]);
  });
}

test('agent certificate: revoked, its tunnel and the watches through it are cut, and it cannot come back', async () => {
  const identity = (await new IdentityStore(join(home, 'edge-2')).load())!;
  const cred = { cert: identity.cert, key: identity.key };
  const serial = new X509Certificate(identity.cert).serialNumber;
  const svc = await serviceCreds('edge-2', 'token');
  const w = await watch({ token: svc.token });
  const t0 = performance.now();
  await revokeAndCheck('agent certificate', serial, cred);
  await w.closed;
  delays.push(['agent certificate', 'watch cut', w.closedAt() - t0]);
  assert.equal(await openTunnel(cred), 'refused');
  // The agent keeps dialling and is refused each time: edge-2 stays away.
  await sleep(500);
  assert.equal(c.tunnel.agents.has('edge-2'), false);
  assert.equal((await service({ token: svc.token })).status, 503);
});

test('plugin key: revoked, it is refused by the plugin callbacks and everywhere else', async () => {
  const key = await c.services.access.issue(
    'plugin:probe',
    { kind: 'plugin', plugin: 'probe', bindings: [{ namespace: 'default', cloud: 'probe' }] },
    3_600_000,
  );
  const cred = { token: key.token };
  assert.notEqual((await grpc(cred)).status, Code.Unauthenticated);
  await revokeAndCheck('plugin key', key.id, cred);
});

test('DELETE /api/v1/tokens/:id revokes credentials the CA issued too (one list)', async () => {
  const issued = await serviceCreds('edge-1', 'token');
  const cred = { token: issued.token };
  const w = await watch(cred);
  const t0 = performance.now();
  await revokeAndCheck('service token via /tokens', issued.id, cred, 'tokens');
  await w.closed;
  delays.push(['service token via /tokens', 'watch cut', w.closedAt() - t0]);
});

test('revocations outlive a restart', async () => {
  const issued = (await api('POST', '/api/v1/ca/control-credentials', { name: 'later', role: 'viewer' }))
    .json as {
    id: string;
    token: string;
  };
  const plain = (
    await api('POST', '/api/v1/tokens', { subject: 'later', role: 'viewer', namespaces: ['*'], ttl: '1h' })
  ).json as { id: string; token: string };
  assert.equal((await api('POST', '/api/v1/ca/revocations', { id: issued.id })).status, 200);
  assert.equal((await api('POST', '/api/v1/ca/revocations', { id: plain.id })).status, 200);
  for (const a of agents) await a.stop();
  agents.length = 0;
  await c.close();
  c = await startController({
    config: parseConfig({ listen: '127.0.0.1:0', poll_interval: 0 }, 'test', home),
    logger: logger as never,
  });
  for (const t of [issued.token, plain.token]) assert.ok(refusedHttp(await rest({ token: t })));
  console.log(
    `revocation delay (ms from the revocation's answer):\n${delays
      .map(([k, l, ms]) => `  ${k.padEnd(28)} ${l.padEnd(10)} ${ms.toFixed(1)}`)
      .join('\n')}`,
  );
});
