// Smuggling after an upgrade: a caller asks for an upgrade (HTTP/1.1 Upgrade,
// or HTTP/2 extended CONNECT) and sends more bytes before the service has
// answered. A service that ignores the upgrade and answers normally (as
// Python's http.server, or Node's without an 'upgrade' listener, do) then
// reads those bytes as requests of its own: they must never reach it, since
// they skipped Skyway's authentication, the agent's Host rewrite and its
// refusal of absolute-form targets. A service that does switch protocols gets
// them after its 101. Controller and agent in one process, on loopback.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
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
  issueServiceToken,
} from '../../packages/controller/src/agents/issue.js';
import { Revocations, registryBackend } from '../../packages/controller/src/auth/revocations.js';
import { TokenService } from '../../packages/controller/src/auth/tokens.js';
import { CertificateAuthority } from '../../packages/controller/src/ca/ca.js';
import { MemoryCaKeyStore, MemoryCredentialRegistry } from '../../packages/controller/src/ca/store.js';
import { listenHttp } from './tunnel-lib.js';

const logger = pino({ level: process.env.SKYWAY_TEST_LOG ?? 'silent' });
let home: string;
let endpoint: TunnelEndpoint;
let agent: Agent;
let ca: CertificateAuthority;
/** Answers every request normally (it has no 'upgrade' listener) and keeps reading the connection. */
let plain: net.Server;
/** Switches protocols on upgrade and echoes. */
let echo: http.Server;
const plainSaw: string[] = [];
const tokens: Record<string, string> = {};

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'skyway-smuggle-'));
  // Reads request after request off its connection and answers each, Upgrade or not (as Python's
  // http.server does): whatever reaches it after the upgrade request is served as a request.
  plain = net.createServer((sock) => {
    let buf = '';
    sock.on('error', () => {});
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const lines = buf.slice(0, end).split('\r\n');
        buf = buf.slice(end + 4);
        const host = lines
          .find((l) => /^host:/i.test(l))
          ?.slice(5)
          .trim();
        // (The agent rewrites Host to the service's own.)
        plainSaw.push(`${lines[0]!.split(' ').slice(0, 2).join(' ')} host=${host}`);
        sock.write('HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\nplain answer');
      }
    });
  });
  echo = http.createServer((_req, res) => res.end('no upgrade'));
  echo.on('upgrade', (req, socket) => {
    const key = req.headers['sec-websocket-key'];
    const accept = key
      ? `sec-websocket-accept: ${createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64')}\r\n`
      : '';
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${req.headers.upgrade}\r\n${accept}\r\n`,
    );
    socket.pipe(socket);
  });
  const [plainPort, echoPort] = [await listenHttp(plain as http.Server), await listenHttp(echo)];
  const registry = new MemoryCredentialRegistry();
  const revocations = await Revocations.open([registryBackend(registry)]);
  const tokenService = await TokenService.open({ revocations });
  ca = await CertificateAuthority.open({ store: new MemoryCaKeyStore(), registry });
  endpoint = await startAgentTunnel({
    ca,
    tokens: tokenService,
    revocations,
    tunnelPort: 0,
    servicePort: 0,
    logger,
  });
  const deps: IssuerDeps = { ca, tokens: tokenService, registry, urls: endpoint.urls };
  agent = new Agent({
    home: join(home, 'agent'),
    bundle: (await issueEnrollmentBundle(deps, 'edge-1')).bundle,
    logger,
    services: [
      { name: 'plain', type: 'x-web', url: `http://127.0.0.1:${plainPort}` },
      { name: 'echo', type: 'x-web', url: `http://127.0.0.1:${echoPort}` },
    ],
  });
  void agent.run();
  await once(agent, 'connected');
  while (!endpoint.agents.has('edge-1')) await new Promise((r) => setTimeout(r, 20));
  for (const name of ['plain', 'echo'])
    tokens[name] = (
      await issueServiceToken(deps, { agent: 'edge-1', serviceType: 'x-web', serviceName: name })
    ).token;
});

after(async () => {
  await agent?.stop();
  await endpoint?.close();
  plain?.close();
  echo?.close();
  await rm(home, { recursive: true, force: true });
});

/** Sends `bytes` in one write on a new HTTP/1.1 connection; what came back once it closed (or after 5 s). */
async function exchange(bytes: string, until?: (text: string) => boolean) {
  const u = new URL(endpoint.urls.service);
  const sock = tls.connect({
    host: u.hostname,
    port: Number(u.port),
    ca: ca.certPem,
    servername: 'localhost',
  });
  await once(sock, 'secureConnect');
  let text = '';
  sock.on('data', (d: Buffer) => {
    text += d.toString('latin1');
  });
  sock.on('error', () => {});
  const closed = new Promise<boolean>((r) => sock.once('close', () => r(true)));
  sock.write(bytes);
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && !(until?.(text) ?? false)) {
    if (await Promise.race([closed, new Promise((r) => setTimeout(() => r(false), 50))])) break;
  }
  const wasClosed = await Promise.race([closed, Promise.resolve(false)]);
  sock.destroy();
  return { text, closed: wasClosed };
}

const upgradeHead = (path: string, token: string) =>
  `GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: foo\r\nauthorization: Bearer ${token}\r\n\r\n`;

test('HTTP/1.1: bytes sent after an upgrade request never reach a service that answers normally', async () => {
  plainSaw.length = 0;
  const r = await exchange(
    `${upgradeHead('/up', tokens.plain!)}GET /SMUGGLED HTTP/1.1\r\nhost: evil.example\r\n\r\nGET http://evil.example/ABSOLUTE HTTP/1.1\r\nhost: evil.example\r\n\r\n`,
  );
  assert.match(r.text, /^HTTP\/1.1 200 [\s\S]*plain answer/);
  assert.ok(r.closed, 'the caller connection stays open after the refused upgrade');
  // Give a smuggled request time to arrive, were it sent.
  await new Promise((res) => setTimeout(res, 200));
  assert.deepEqual(
    plainSaw.map((l) => l.split(' ')[1]),
    ['/up'],
  );
  assert.ok(!plainSaw.some((l) => l.includes('evil')), plainSaw.join('\n'));
});

test('HTTP/1.1: a service that switches protocols gets the bytes sent before its 101, after it', async () => {
  const r = await exchange(`${upgradeHead('/ws', tokens.echo!)}early bytes`, (t) =>
    t.includes('early bytes'),
  );
  assert.match(r.text, /^HTTP\/1.1 101 [\s\S]*\r\n\r\nearly bytes$/);
});

test('HTTP/2: an extended CONNECT the service answers normally is an error, not :status 200, and its bytes stay', async () => {
  plainSaw.length = 0;
  const session = http2.connect(endpoint.urls.service, { ca: ca.certPem });
  try {
    await once(session, 'remoteSettings');
    const ws = session.request({
      ':method': 'CONNECT',
      ':protocol': 'websocket',
      ':scheme': 'https',
      ':path': '/ws',
      'sec-websocket-version': '13',
      authorization: `Bearer ${tokens.plain}`,
    });
    ws.on('error', () => {});
    // Sent at once, before any answer.
    ws.write('GET /SMUGGLED2 HTTP/1.1\r\nhost: evil.example\r\n\r\n');
    const [res] = (await once(ws, 'response')) as [http2.IncomingHttpHeaders];
    assert.equal(res[':status'], 502);
    let body = '';
    for await (const c of ws) body += c;
    assert.match(body, /not 101/);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      plainSaw.map((l) => l.split(' ')[1]),
      ['/ws'],
    );
  } finally {
    session.close();
  }
});

test('HTTP/2: a WebSocket gets the bytes its caller sent before the service accepted, after it', async () => {
  const session = http2.connect(endpoint.urls.service, { ca: ca.certPem });
  try {
    const ws = session.request({
      ':method': 'CONNECT',
      ':protocol': 'websocket',
      ':scheme': 'https',
      ':path': '/ws',
      'sec-websocket-version': '13',
      authorization: `Bearer ${tokens.echo}`,
    });
    ws.on('error', () => {});
    ws.write('early');
    const [res] = (await once(ws, 'response')) as [http2.IncomingHttpHeaders];
    assert.equal(res[':status'], 200);
    const [d] = await once(ws, 'data');
    assert.equal(d.toString(), 'early');
    ws.close();
  } finally {
    session.close();
  }
});
