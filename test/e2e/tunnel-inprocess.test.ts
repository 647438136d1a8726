// The tunnel with controller and agent in one process, on loopback: the fast
// check of forwarding, auth and enrollment. The real-process, namespace test
// is tunnel-netns.test.ts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tls from 'node:tls';
import { Agent } from '@skyway/agent';
import type { TunnelEndpoint } from '@skyway/tunnel';
import pino from 'pino';
import { startAgentTunnel } from '../../packages/controller/src/agents/credentials.js';
import {
  type IssuerDeps,
  issueEnrollmentBundle,
  issueServiceCertificate,
  issueServiceToken,
} from '../../packages/controller/src/agents/issue.js';
import { Revocations, registryBackend } from '../../packages/controller/src/auth/revocations.js';
import { TokenService } from '../../packages/controller/src/auth/tokens.js';
import { CertificateAuthority } from '../../packages/controller/src/ca/ca.js';
import { MemoryCaKeyStore, MemoryCredentialRegistry } from '../../packages/controller/src/ca/store.js';
import { call, call2, listenHttp, upgrade } from './tunnel-lib.js';

const logger = pino({ level: process.env.SKYWAY_TEST_LOG ?? 'silent' });
let home: string;
let endpoint: TunnelEndpoint;
let agent: Agent;
let origin: http.Server;
let secureOrigin: https.Server;
let registry: MemoryCredentialRegistry;
let revocations: Revocations;
let tokens: TokenService;
let ca: CertificateAuthority;
let deps: IssuerDeps;
let token: string;
const seen: http.IncomingHttpHeaders[] = [];
/** The agent's local port of the connection each request came in on. */
const ports: number[] = [];
/** Resolved when the origin sees a /hold request's connection close. */
let holdClosed: Promise<void> = new Promise(() => {});
let onHoldClosed = () => {};
let dropOnce = 0;
/** Raw bytes a service received after refusing an upgrade. */
let afterRefusedUpgrade = '';

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'skyway-tunnel-'));
  origin = http.createServer((req, res) => {
    seen.push(req.headers);
    ports.push(req.socket.remotePort!);
    if (req.url === '/echo') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    } else if (req.url === '/hold') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first\n');
      res.on('close', () => onHoldClosed());
    } else if (req.url === '/drop' || (req.url === '/drop-once' && dropOnce++ === 0)) {
      // The service closes the connection without an answer (as on a keep-alive race).
      req.socket.destroy();
    } else if (req.url === '/truncated') {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only ten b');
      setTimeout(() => req.socket.destroy(), 50);
    } else if (req.url === '/truncated-chunked') {
      // No length: only the missing last chunk tells the response is not complete.
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part of it');
      setTimeout(() => req.socket.destroy(), 50);
    } else if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let n = 0;
      const t = setInterval(() => {
        res.write(`event ${n++}\n`);
        if (n === 3) {
          clearInterval(t);
          res.end();
        }
      }, 100);
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] });
      res.end(JSON.stringify({ path: req.url, auth: req.headers.authorization }));
    }
  });
  origin.on('upgrade', (req, socket) => {
    seen.push(req.headers);
    if (req.url === '/upgrade-refused') {
      // No upgrade: a plain answer, and the connection stays HTTP/1.1.
      socket.write('HTTP/1.1 403 Forbidden\r\ncontent-length: 2\r\n\r\nno');
      socket.on('data', (d: Buffer) => {
        afterRefusedUpgrade += d.toString('latin1');
      });
      return;
    }
    // A WebSocket handshake is answered with the accept key of RFC 6455 (a wrong one on /ws-bad-accept).
    const key = req.headers['sec-websocket-key'];
    const accept =
      key && req.url !== '/ws-bad-accept'
        ? createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64')
        : 'wrong';
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${req.headers.upgrade}\r\n${key ? `sec-websocket-accept: ${accept}\r\nsec-websocket-protocol: chat\r\n` : ''}\r\n`,
    );
    socket.pipe(socket);
  });
  const originPort = await listenHttp(origin);
  registry = new MemoryCredentialRegistry();
  revocations = await Revocations.open([registryBackend(registry)]);
  tokens = await TokenService.open({ revocations });
  ca = await CertificateAuthority.open({ store: new MemoryCaKeyStore(), registry });
  // An HTTPS origin (like a Kubernetes API server) with a certificate from a CA only the agent trusts.
  const originCa = await CertificateAuthority.open({ store: new MemoryCaKeyStore(), name: 'Origin CA' });
  const originCert = await originCa.issueServer({ names: ['localhost'] });
  await writeFile(join(home, 'origin-ca.pem'), originCa.certPem);
  secureOrigin = https.createServer({ cert: originCert.certPem, key: originCert.keyPem }, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ secure: true, auth: req.headers.authorization }));
  });
  const secureOriginPort = await listenHttp(secureOrigin as unknown as http.Server);
  endpoint = await startAgentTunnel({
    ca,
    tokens,
    revocations,
    tunnelPort: 0,
    servicePort: 0,
    logger,
    keepaliveMs: 1000,
  });
  deps = { ca, tokens, registry, urls: endpoint.urls };
  const { bundle } = await issueEnrollmentBundle(deps, 'edge-1');
  agent = new Agent({
    home: join(home, 'agent'),
    bundle,
    logger,
    keepaliveMs: 1000,
    backoff: { baseMs: 50, maxMs: 200 },
    annotations: { site: 'lab' },
    services: [
      {
        name: 'web',
        type: 'jenkins',
        url: `http://127.0.0.1:${originPort}`,
        credentials: { type: 'basic', username: 'admin', passwordEnv: 'SKYWAY_TEST_PASSWORD' },
      },
      { name: 'down', type: 'x-down', url: 'http://127.0.0.1:1' },
      {
        name: 'secure',
        type: 'kubernetes',
        url: `https://localhost:${secureOriginPort}`,
        caFile: join(home, 'origin-ca.pem'),
        credentials: { type: 'bearer', token: 'kube-token' },
      },
      {
        name: 'acct',
        type: 'aws',
        url: `http://127.0.0.1:${originPort}`,
        credentials: {
          type: 'aws',
          accessKeyId: 'AKIDAGENT',
          secretAccessKey: 'agent-secret',
          region: 'eu-west-1',
          service: 'ec2',
        },
      },
    ],
  });
  process.env.SKYWAY_TEST_PASSWORD = 's3cret-origin-password';
  void agent.run();
  await once(agent, 'connected');
  while (!endpoint.agents.has('edge-1')) await new Promise((r) => setTimeout(r, 20));
  token = (await issueServiceToken(deps, { agent: 'edge-1', serviceType: 'jenkins', serviceName: 'web' }))
    .token;
});

after(async () => {
  await agent?.stop();
  await endpoint?.close();
  origin?.close();
  secureOrigin?.close();
  await rm(home, { recursive: true, force: true });
});

const svc = (path: string) => `${endpoint.urls.service}${path}`;

test('forwards a request with the agent credentials, never the caller token', async () => {
  const r = await call(svc('/api/json?x=1'), {
    ca: ca.certPem,
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(r.status, 200);
  const body = JSON.parse(r.body.toString());
  assert.equal(body.path, '/api/json?x=1');
  assert.equal(body.auth, `Basic ${Buffer.from('admin:s3cret-origin-password').toString('base64')}`);
  assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
  assert.ok(!JSON.stringify(seen.at(-1)).includes(token));
});

test('streams a request body both ways and chunks as they come', async () => {
  const payload = Buffer.alloc(3 * 1024 * 1024, 7);
  const r = await call(svc('/echo'), {
    method: 'POST',
    ca: ca.certPem,
    body: payload,
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(r.status, 200);
  assert.equal(r.body.length, payload.length);
  const r2 = await call(svc('/stream'), { ca: ca.certPem, headers: { authorization: `Bearer ${token}` } });
  assert.equal(r2.body.toString(), 'event 0\nevent 1\nevent 2\n');
});

test('a service certificate works like a token; Basic with the token as password too', async () => {
  const c = await issueServiceCertificate(deps, {
    agent: 'edge-1',
    serviceType: 'jenkins',
    serviceName: 'web',
  });
  const r = await call(svc('/x'), { ca: ca.certPem, cert: c.certificate, key: c.key });
  assert.equal(r.status, 200);
  const r2 = await call(svc('/x'), {
    ca: ca.certPem,
    headers: { authorization: `Basic ${Buffer.from(`me:${token}`).toString('base64')}` },
  });
  assert.equal(r2.status, 200);
});

test('wrong, revoked and mis-scoped credentials get 401/403', async () => {
  assert.equal((await call(svc('/x'), { ca: ca.certPem })).status, 401);
  assert.equal(
    (await call(svc('/x'), { ca: ca.certPem, headers: { authorization: 'Bearer nope' } })).status,
    401,
  );
  const join = (await issueEnrollmentBundle(deps, 'edge-2')).bundle.token;
  assert.equal(
    (await call(svc('/x'), { ca: ca.certPem, headers: { authorization: `Bearer ${join}` } })).status,
    403,
  );
  const other = await issueServiceToken(deps, {
    agent: 'edge-1',
    serviceType: 'jenkins',
    serviceName: 'web',
  });
  await revocations.revoke(other.id);
  const r = await call(svc('/x'), { ca: ca.certPem, headers: { authorization: `Bearer ${other.token}` } });
  assert.equal(r.status, 401);
  assert.match(r.body.toString(), /revoked/);
});

test('revoking a credential ends the watches and WebSockets it opened, and nothing else', async () => {
  const scope = { agent: 'edge-1', serviceType: 'jenkins', serviceName: 'web' };
  const doomed = await issueServiceToken(deps, scope);
  const kept = await issueServiceToken(deps, scope);
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  let holdsClosed = 0;
  onHoldClosed = () => holdsClosed++;
  // An HTTP/1.1 watch, an HTTP/1.1 WebSocket and an HTTP/2 watch with the doomed token; an
  // HTTP/2 watch with the kept one on the same connection.
  const h1 = https.get(svc('/hold'), { ca: ca.certPem, headers: bearer(doomed.token), agent: false });
  h1.on('error', () => {});
  const [h1res] = (await once(h1, 'response')) as [http.IncomingMessage];
  h1res.on('error', () => {});
  await once(h1res, 'data');
  const ws = await upgrade(svc('/ws'), bearer(doomed.token), { ca: ca.certPem });
  ws.socket.on('error', () => {});
  const session = http2.connect(endpoint.urls.service, { ca: ca.certPem });
  try {
    const watch = (t: string) => {
      const s = session.request({ ':path': '/hold', ...bearer(t) });
      s.on('error', () => {});
      return s;
    };
    const h2doomed = watch(doomed.token);
    const h2kept = watch(kept.token);
    await Promise.all([once(h2doomed, 'data'), once(h2kept, 'data')]);

    assert.ok(await revocations.revoke(doomed.id));
    // (once() would reject on the 'error' that comes with a cut.)
    const closed = (e: NodeJS.EventEmitter) => new Promise((r) => e.once('close', r));
    await Promise.all([closed(h1res), closed(ws.socket), closed(h2doomed)]);
    assert.equal(h2doomed.rstCode, http2.constants.NGHTTP2_INTERNAL_ERROR);
    // The services see their connections close (the WebSocket's origin echoes, so only the watches count).
    while (holdsClosed < 2) await new Promise((r) => setTimeout(r, 20));
    assert.equal(h2kept.closed, false);
    assert.equal((await call2(session, '/x', { headers: bearer(doomed.token) })).status, 401);
    assert.equal((await call2(session, '/x', { headers: bearer(kept.token) })).status, 200);
    h2kept.close(http2.constants.NGHTTP2_CANCEL);
    while (holdsClosed < 3) await new Promise((r) => setTimeout(r, 20));
  } finally {
    session.close();
    onHoldClosed = () => {};
  }
  // Unknown ids are not found.
  assert.equal(await revocations.revoke('no-such-credential'), undefined);
});

test('upstream failure is a 502 with the agent reason; unknown agent is 503', async () => {
  const t = (await issueServiceToken(deps, { agent: 'edge-1', serviceType: 'x-down', serviceName: 'down' }))
    .token;
  const r = await call(svc('/'), { ca: ca.certPem, headers: { authorization: `Bearer ${t}` } });
  assert.equal(r.status, 502);
  assert.match(r.body.toString(), /ECONNREFUSED/);
  const t2 = (await issueServiceToken(deps, { agent: 'nobody', serviceType: 'x-down', serviceName: 'down' }))
    .token;
  assert.equal(
    (await call(svc('/'), { ca: ca.certPem, headers: { authorization: `Bearer ${t2}` } })).status,
    503,
  );
});

test('upgrades are forwarded', async () => {
  const { head, socket, rest } = await upgrade(
    svc('/ws'),
    { authorization: `Bearer ${token}` },
    { ca: ca.certPem },
  );
  assert.match(head, /^HTTP\/1.1 101/);
  assert.equal(rest.length, 0);
  socket.write('ping-1');
  const [d] = await once(socket, 'data');
  assert.equal(d.toString(), 'ping-1');
  socket.destroy();
});

test('lists the agent with its hello and stats', async () => {
  const [c] = endpoint.agents.connections('edge-1');
  assert.equal(c!.hello.annotations.site, 'lab');
  assert.deepEqual(c!.hello.services.map((s) => s.name).sort(), ['acct', 'down', 'secure', 'web']);
  const s = (await c!.fetchStats()) as { services: Array<{ requests: number }> };
  assert.ok(s.services.length > 0);
});

test('enrollment: clock skew over 5 minutes is refused and says so; join tokens are single use; renewal works', async () => {
  const { IdentityStore } = await import('@skyway/agent');
  const store = new IdentityStore(join(home, 'agent-skew'));
  const { bundle } = await issueEnrollmentBundle(deps, 'edge-skew');
  await assert.rejects(store.enroll(bundle, Date.now() + 6 * 60_000), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'CLOCK_SKEW');
    assert.match(e.message, /clock skew/);
    assert.match(e.message, /5 minutes/);
    return true;
  });
  // The refused attempt did not burn the token; the first real one does.
  const id = await store.enroll(bundle);
  assert.equal(id.agent, 'edge-skew');
  await assert.rejects(
    new IdentityStore(join(home, 'agent-skew2')).enroll(bundle),
    /already been used|revoked/,
  );
  const renewed = await store.renew(id);
  assert.notEqual(renewed.cert, id.cert);
  assert.notEqual(renewed.key, id.key);
  assert.ok(renewed.notAfter >= id.notAfter);
  // What a restarted agent reads back is the renewed pair, in one file only root can read.
  const reloaded = await new IdentityStore(join(home, 'agent-skew')).load();
  assert.equal(reloaded?.cert, renewed.cert);
  assert.equal(reloaded?.key, renewed.key);
  const { statSync } = await import('node:fs');
  assert.equal(statSync(join(home, 'agent-skew', 'identity.json')).mode & 0o777, 0o600);
  // A revoked agent certificate can neither renew nor connect.
  const { X509Certificate } = await import('node:crypto');
  await revocations.revoke(new X509Certificate(renewed.cert).serialNumber);
  await assert.rejects(store.renew(renewed), /revoked/);
});

test('HTTPS services are verified with their CA; AWS requests are re-signed by the agent', async () => {
  const k = (
    await issueServiceToken(deps, { agent: 'edge-1', serviceType: 'kubernetes', serviceName: 'secure' })
  ).token;
  const r = await call(svc('/api'), { ca: ca.certPem, headers: { authorization: `Bearer ${k}` } });
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body.toString()), { secure: true, auth: 'Bearer kube-token' });
  const a = (await issueServiceToken(deps, { agent: 'edge-1', serviceType: 'aws', serviceName: 'acct' }))
    .token;
  const body = 'Action=DescribeVpcs&Version=2016-11-15';
  const r2 = await call(svc('/'), {
    method: 'POST',
    ca: ca.certPem,
    body,
    headers: {
      authorization: `Bearer ${a}`,
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': String(body.length),
    },
  });
  assert.equal(r2.status, 200);
  const auth = JSON.parse(r2.body.toString()).auth as string;
  assert.match(
    auth,
    /^AWS4-HMAC-SHA256 Credential=AKIDAGENT\/\d{8}\/eu-west-1\/ec2\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
  );
  // A caller that signs with SigV4a (authenticated by its certificate, its own Authorization the
  // SDK's signature) is signed again with SigV4a, for the regions it named.
  const c = await issueServiceCertificate(deps, { agent: 'edge-1', serviceType: 'aws', serviceName: 'acct' });
  const r3 = await call(svc('/'), {
    ca: ca.certPem,
    cert: c.certificate,
    key: c.key,
    headers: {
      authorization:
        'AWS4-ECDSA-P256-SHA256 Credential=PLACEHOLDER/20240101/ec2/aws4_request, SignedHeaders=host;x-amz-date;x-amz-region-set, Signature=3045',
      'x-amz-region-set': 'eu-west-1,eu-central-1',
    },
  });
  assert.equal(r3.status, 200);
  assert.match(
    JSON.parse(r3.body.toString()).auth,
    /^AWS4-ECDSA-P256-SHA256 Credential=AKIDAGENT\/\d{8}\/ec2\/aws4_request, SignedHeaders=[a-z0-9;-]*x-amz-region-set[a-z0-9;-]*, Signature=30[0-9a-f]+$/,
  );
  assert.equal(seen.at(-1)!['x-amz-region-set'], 'eu-west-1,eu-central-1');
});

test('HTTP/2 callers: one connection, a stream per request, each authenticated and relayed on its own', async () => {
  const session = http2.connect(endpoint.urls.service, { ca: ca.certPem });
  try {
    const auth = { authorization: `Bearer ${token}` };
    const r = await call2(session, '/api/json?x=2', { headers: auth });
    assert.equal(r.status, 200);
    const body = JSON.parse(r.body.toString());
    assert.equal(body.path, '/api/json?x=2');
    assert.equal(body.auth, `Basic ${Buffer.from('admin:s3cret-origin-password').toString('base64')}`);
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
    assert.ok(!JSON.stringify(seen.at(-1)).includes(token));
    assert.equal(seen.at(-1)!['x-forwarded-proto'], 'https');
    // A body of unknown length reaches the HTTP/1.1 service chunk-encoded and comes back whole.
    const payload = Buffer.alloc(3 * 1024 * 1024, 9);
    const echo = await call2(session, '/echo', { method: 'POST', headers: auth, body: payload });
    assert.equal(echo.status, 200);
    assert.ok(echo.body.equals(payload));
    assert.equal(seen.at(-1)!['transfer-encoding'], 'chunked');
    // Chunks are passed on as they are written.
    const s = await call2(session, '/stream', { headers: auth });
    assert.equal(s.body.toString(), 'event 0\nevent 1\nevent 2\n');
    assert.ok(s.chunks >= 3, `events arrived in ${s.chunks} chunk(s)`);
    // Other streams of the same connection: no credentials, another service, an unknown agent.
    const none = await call2(session, '/x');
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="skyway"');
    assert.match(JSON.parse(none.body.toString()).error.message, /no credentials/);
    const down = (
      await issueServiceToken(deps, { agent: 'edge-1', serviceType: 'x-down', serviceName: 'down' })
    ).token;
    const bad = await call2(session, '/', { headers: { authorization: `Bearer ${down}` } });
    assert.equal(bad.status, 502);
    assert.match(bad.body.toString(), /ECONNREFUSED/);
    const nobody = (
      await issueServiceToken(deps, { agent: 'nobody', serviceType: 'x-down', serviceName: 'down' })
    ).token;
    const gone = await call2(session, '/', { headers: { authorization: `Bearer ${nobody}` } });
    assert.equal(gone.status, 503);
    assert.equal(gone.headers['retry-after'], '1');
    // The connection still serves requests after those answers.
    assert.equal((await call2(session, '/again', { headers: auth })).status, 200);
  } finally {
    session.close();
  }
});

test('HTTP/2 callers: a WebSocket by extended CONNECT (RFC 8441) reaches the service as an HTTP/1.1 upgrade', async () => {
  const session = http2.connect(endpoint.urls.service, { ca: ca.certPem });
  try {
    await once(session, 'remoteSettings');
    assert.equal(session.remoteSettings.enableConnectProtocol, true);
    const open = (
      path: string,
      headers: http2.OutgoingHttpHeaders = { authorization: `Bearer ${token}` },
    ) => {
      const s = session.request({
        ':method': 'CONNECT',
        ':protocol': 'websocket',
        ':scheme': 'https',
        ':path': path,
        'sec-websocket-version': '13',
        'sec-websocket-protocol': 'chat',
        ...headers,
      });
      s.on('error', () => {});
      return s;
    };
    const ws = open('/ws');
    const [res] = (await once(ws, 'response')) as [http2.IncomingHttpHeaders];
    assert.equal(res[':status'], 200);
    assert.equal(res['sec-websocket-protocol'], 'chat');
    assert.equal(res['sec-websocket-accept'], undefined);
    const up = seen.at(-1)!;
    assert.equal(up.upgrade, 'websocket');
    assert.equal(up['sec-websocket-version'], '13');
    assert.ok(up['sec-websocket-key'], 'the agent-side request carries a key of the controller');
    assert.ok(!JSON.stringify(up).includes(token));
    // Bytes pass both ways, message after message.
    for (const m of ['ping-1', 'ping-2']) {
      ws.write(m);
      const [d] = await once(ws, 'data');
      assert.equal(d.toString(), m);
    }
    // The caller's end reaches the service (an echo: it ends too), and the service's end comes back.
    ws.end();
    await once(ws, 'end');
    // A service that answers with a wrong accept key is not trusted with the caller's stream.
    const bad = open('/ws-bad-accept');
    const [badRes] = (await once(bad, 'response')) as [http2.IncomingHttpHeaders];
    assert.equal(badRes[':status'], 502);
    // Without credentials: 401 like any request.
    const anon = open('/ws', {});
    assert.equal(((await once(anon, 'response')) as [http2.IncomingHttpHeaders])[0][':status'], 401);
    // A plain CONNECT (a TCP tunnel) is refused and says what is forwarded.
    const plain = session.request({ ':method': 'CONNECT', ':authority': 'example.test:443' });
    plain.on('error', () => {});
    const [p] = (await once(plain, 'response')) as [http2.IncomingHttpHeaders];
    assert.equal(p[':status'], 400);
    let body = '';
    for await (const c of plain) body += c;
    assert.match(body, /only for WebSockets/);
  } finally {
    session.close();
  }
});

test('HTTP/2 callers: resetting a stream closes the service connection behind it', async () => {
  holdClosed = new Promise<void>((r) => {
    onHoldClosed = r;
  });
  const session = http2.connect(endpoint.urls.service, { ca: ca.certPem });
  try {
    const req = session.request({ ':path': '/hold', authorization: `Bearer ${token}` });
    const [first] = await once(req, 'data');
    assert.equal(first.toString(), 'first\n');
    req.close(http2.constants.NGHTTP2_CANCEL);
    await holdClosed;
  } finally {
    session.close();
  }
});

test('HTTP/2 callers: a response the service cuts short is reset, not ended as if complete', async () => {
  const session = http2.connect(endpoint.urls.service, { ca: ca.certPem });
  try {
    const req = session.request({ ':path': '/truncated-chunked', authorization: `Bearer ${token}` });
    let ended = false;
    req.on('error', () => {});
    req.on('data', () => {});
    req.on('end', () => {
      ended = true;
    });
    await new Promise((r) => req.once('close', r));
    assert.equal(ended, false);
    assert.equal(req.rstCode, http2.constants.NGHTTP2_INTERNAL_ERROR);
  } finally {
    session.close();
  }
});

test('callers coming and going never reset the tunnel (the agent limits resets to 1,000, then 33/s)', async () => {
  const before = agent.connections;
  const auth = { authorization: `Bearer ${token}` };
  // HTTP/1.1: a connection per request, closed by the caller after its answer.
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next++ < 1200)
        assert.equal((await call(svc('/x'), { ca: ca.certPem, headers: auth })).status, 200);
    }),
  );
  // HTTP/2: a tunnel stream per request on one caller connection.
  const session = http2.connect(endpoint.urls.service, { ca: ca.certPem });
  try {
    next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next++ < 1200) assert.equal((await call2(session, '/x', { headers: auth })).status, 200);
      }),
    );
  } finally {
    session.close();
  }
  assert.equal(agent.connections, before, 'the agent had to reconnect');
});

test('the agent keeps its service connection for the next caller after a complete response', async () => {
  const auth = { authorization: `Bearer ${token}` };
  const from = ports.length;
  // One request per HTTP/1.1 connection, one after the other; then one per HTTP/2 stream.
  // (a keep-alive client, so that the request does not ask for "connection: close", closed after each answer)
  for (let i = 0; i < 3; i++) {
    const keepAlive = new https.Agent({ keepAlive: true });
    assert.equal((await call(svc('/x'), { ca: ca.certPem, headers: auth, agent: keepAlive })).status, 200);
    keepAlive.destroy();
  }
  const session = http2.connect(endpoint.urls.service, { ca: ca.certPem });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await call2(session, '/y', { headers: auth })).status, 200);
  } finally {
    session.close();
  }
  const h1 = new Set(ports.slice(from, from + 3));
  const h2 = new Set(ports.slice(from + 3));
  assert.equal(ports.length - from, 6);
  assert.equal(h1.size, 1, `3 HTTP/1.1 callers, ${h1.size} service connections`);
  assert.equal(h2.size, 1, `3 HTTP/2 requests, ${h2.size} service connections`);
  // An abandoned response is not reused: the service sees its connection close.
  holdClosed = new Promise<void>((r) => {
    onHoldClosed = r;
  });
  const s2 = http2.connect(endpoint.urls.service, { ca: ca.certPem });
  try {
    const req = s2.request({ ':path': '/hold', ...auth });
    await once(req, 'data');
    req.close(http2.constants.NGHTTP2_CANCEL);
    await holdClosed;
  } finally {
    s2.close();
  }
});

/** A raw TLS connection to the service port; `text()` is everything received so far. */
async function rawConnect() {
  const u = new URL(endpoint.urls.service);
  const socket = tls.connect({ host: u.hostname, port: Number(u.port), ca: ca.certPem });
  socket.on('error', () => {});
  await once(socket, 'secureConnect');
  let got = '';
  socket.on('data', (d: Buffer) => {
    got += d.toString('latin1');
  });
  return { socket, text: () => got, closed: once(socket, 'close').then(() => true) };
}

/** Writes `text` on a raw TLS connection to the service port and reads until the controller closes it. */
async function rawExchange(text: string, waitMs = 5_000): Promise<{ text: string; closed: boolean }> {
  const c = await rawConnect();
  c.socket.write(text);
  const closed = await Promise.race([
    c.closed,
    new Promise<boolean>((r) => setTimeout(() => r(false), waitMs)),
  ]);
  c.socket.destroy();
  return { text: c.text(), closed };
}

test('HTTP/1.1 callers: a service that closes without answering gets a 502 (or one retry), never a hang', async () => {
  // A GET is asked again once, on the same agent: the second try is answered.
  dropOnce = 0;
  const once1 = await rawExchange(
    `GET /drop-once HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\nconnection: close\r\n\r\n`,
  );
  assert.match(once1.text, /^HTTP\/1.1 200 [\s\S]*"path":"\/drop-once"/);
  // Always dropped: one retry, then a 502.
  const always = await rawExchange(`GET /drop HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\n\r\n`);
  assert.ok(always.closed, 'the caller connection was left hanging');
  assert.match(always.text, /^HTTP\/1.1 502 /);
  // A POST is never sent again.
  const post = await rawExchange(
    `POST /drop HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\ncontent-length: 2\r\n\r\nhi`,
  );
  assert.ok(post.closed, 'the caller connection was left hanging');
  assert.match(post.text, /^HTTP\/1.1 502 /);
  // Cut in the middle of a response: the caller's connection is cut too.
  const cut = await rawExchange(
    `GET /truncated HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\n\r\n`,
  );
  assert.ok(cut.closed, 'the caller connection was left hanging');
  assert.match(cut.text, /^HTTP\/1.1 200 [\s\S]*only ten b$/);
});

test('HTTP/1.1 callers: pipelined requests are never answered with the response to another', async () => {
  // The first request's service connection is dropped; the second must not be re-sent in its place.
  const r = await rawExchange(
    `GET /drop HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\n\r\nGET /second HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\n\r\n`,
  );
  assert.ok(r.closed, 'the caller connection was left hanging');
  assert.match(r.text, /^HTTP\/1.1 502 /);
  assert.ok(!r.text.includes('/second'), r.text);
});

test('HTTP/1.1 callers: a pipelined request that is refused is answered after the one before it', async () => {
  const r = await rawExchange(
    `GET /first HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\n\r\nGET /second HTTP/1.1\r\nhost: x\r\nauthorization: Bearer not-a-token\r\n\r\n`,
  );
  assert.ok(r.closed, 'the caller connection was left open');
  // First the service's answer to /first, then the refusal of /second: in request order.
  assert.match(r.text, /^HTTP\/1.1 200 [\s\S]*"path":"\/first"[\s\S]*HTTP\/1.1 401 /);
  assert.ok(!r.text.includes('/second'), r.text);
});

test("HTTP/1.1 callers: after a refused upgrade, the caller's next request does not reach the service raw", async () => {
  afterRefusedUpgrade = '';
  const { socket, text, closed } = await rawConnect();
  socket.write(
    `GET /upgrade-refused HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: foo\r\nauthorization: Bearer ${token}\r\n\r\n`,
  );
  while (!text().endsWith('no')) await once(socket, 'data');
  assert.match(text(), /^HTTP\/1.1 403 /);
  // The connection stays open for HTTP/1.1 as far as the caller knows: its next request carries its token.
  socket.write(`GET /next HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\n\r\n`);
  await Promise.race([closed, new Promise((r) => setTimeout(r, 500))]);
  socket.destroy();
  assert.ok(!afterRefusedUpgrade.includes(token), 'the caller token reached the service');
});

test('HTTP/1.1 callers: a malformed chunk after the service began answering cuts the connection, no 400 inside the answer', async () => {
  const { socket, text, closed } = await rawConnect();
  socket.write(
    `POST /echo HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n`,
  );
  while (!text().includes('hello')) await once(socket, 'data');
  socket.write('zz\r\nnot a chunk\r\n');
  assert.equal(await Promise.race([closed, new Promise((r) => setTimeout(() => r(false), 5_000))]), true);
  assert.match(text(), /^HTTP\/1.1 200 /);
  assert.ok(!text().includes(' 400 '), text());
});

test('a client certificate that fails verification (another CA named like ours) is treated alike on HTTP/1.1 and HTTP/2', async () => {
  // Same subject as our CA, another key: the certificate's signature does not verify.
  const impostor = await CertificateAuthority.open({ store: new MemoryCaKeyStore() });
  assert.equal(impostor.cert.subject, ca.cert.subject);
  const forged = await impostor.issueClientWithKey(
    { kind: 'service', agent: 'edge-1', serviceType: 'jenkins', serviceName: 'web' },
    60_000,
  );
  const bearer = { authorization: `Bearer ${token}` };
  // The chain names the impostor CA too, as a client sending its whole chain does.
  const tlsOpts = {
    ca: ca.certPem,
    cert: `${forged.certPem.trim()}\n${impostor.certPem}`,
    key: forged.keyPem,
  };
  // HTTP/1.1: the certificate alone is refused (401), with a valid token the request passes.
  assert.equal((await call(svc('/x'), tlsOpts)).status, 401);
  assert.equal((await call(svc('/x'), { ...tlsOpts, headers: bearer })).status, 200);
  // HTTP/2: the same, stream by stream, on one connection that stays up.
  const session = http2.connect(endpoint.urls.service, tlsOpts);
  session.on('error', () => {});
  try {
    const alone = await call2(session, '/x');
    assert.equal(alone.status, 401);
    assert.match(alone.body.toString(), /certificate rejected/);
    assert.equal((await call2(session, '/x', { headers: bearer })).status, 200);
    assert.equal(session.closed, false);
  } finally {
    session.close();
  }
});
