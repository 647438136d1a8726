// The service port under a flood from callers without credentials: 2,000
// connections that never finish TLS or never finish a request head are all
// closed (here within seconds: the test shortens the deadlines), while callers
// through the tunnel, the REST API and agent reconnects keep working. A whole
// controller with an in-process agent, on loopback; the flood comes from
// 127.0.0.2-5 (loopback answers all of 127/8), the callers from 127.0.0.1.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tls from 'node:tls';
import { Agent, type EnrollmentBundle } from '@skyway/agent';
import { parseConfig, type RunningController, startController } from '@skyway/controller';
import pino from 'pino';
import { call, listenHttp } from './tunnel-lib.js';

const logger = pino({ level: process.env.SKYWAY_TEST_LOG ?? 'silent' });
const handshakeMs = 5_000;
const headMs = 5_000;
let home: string;
let c: RunningController;
let origin: http.Server;
let agent: Agent;
let token: string;

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'skyway-flood-'));
  origin = http.createServer((_req, res) => res.end('ok'));
  const originPort = await listenHttp(origin);
  c = await startController({
    config: parseConfig({ listen: '127.0.0.1:0', poll_interval: 0 }, 'test', home),
    logger: logger as never,
    tunnelLimits: { handshakeMs, headMs, maxPerSource: 600 },
  });
  const api = async (method: string, path: string, body: unknown) =>
    (await fetch(`${c.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${c.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then((r) => r.json())) as Record<string, string>;
  const bundle = (await api(
    'POST',
    '/api/v1/agents/edge-1/enrollment-bundle',
    {},
  )) as unknown as EnrollmentBundle;
  agent = new Agent({
    home: join(home, 'agent'),
    bundle,
    logger,
    keepaliveMs: 1000,
    backoff: { baseMs: 50, maxMs: 200 },
    services: [{ name: 'web', type: 'x-web', url: `http://127.0.0.1:${originPort}` }],
  });
  void agent.run();
  await once(agent, 'connected');
  while (!c.tunnel.agents.has('edge-1')) await sleep(20);
  token = (
    await api('POST', '/api/v1/agents/edge-1/service-credentials', {
      serviceType: 'x-web',
      serviceName: 'web',
    })
  ).token!;
});

after(async () => {
  await agent?.stop();
  await c?.close();
  origin?.close();
  await rm(home, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Held {
  openedAt: number;
  closedAt?: number;
}

/** A TCP connection that never starts TLS. */
async function silent(port: number, localAddress: string): Promise<Held> {
  const s = net.connect({ port, host: '127.0.0.1', localAddress });
  s.on('error', () => {});
  const h: Held = { openedAt: performance.now() };
  s.once('close', () => {
    h.closedAt = performance.now();
  });
  await once(s, 'connect');
  return h;
}

/** A TLS connection that sends the start of a request head, then one byte every 500 ms, never finishing it. */
async function slowHead(port: number, localAddress: string): Promise<Held & { timer: NodeJS.Timeout }> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  const s = tls.connect({ socket, ca: c.tunnel.caPem, servername: 'localhost' });
  s.on('error', () => {});
  const h: Held & { timer?: NodeJS.Timeout } = { openedAt: performance.now() };
  s.once('close', () => {
    h.closedAt = performance.now();
    clearInterval(h.timer);
  });
  await once(s, 'secureConnect');
  s.write('GET / HTTP/1.1\r\nhost: localhost\r\nx-slow: ');
  h.timer = setInterval(() => s.writable && s.write('a'), 500);
  return h as Held & { timer: NodeJS.Timeout };
}

test('2,000 connections that never finish TLS or a request head are closed; callers, the API and agents carry on', async () => {
  const port = Number(new URL(c.tunnel.urls.service).port);
  const t0 = performance.now();
  const held: Held[] = [];
  // TLS handshakes cost CPU on both sides: a few at a time.
  for (let i = 0; i < 1000; i += 50) {
    const batch = [];
    for (let j = i; j < i + 50; j++) batch.push(slowHead(port, j % 2 ? '127.0.0.4' : '127.0.0.5'));
    held.push(...(await Promise.all(batch)));
  }
  const opens: Promise<Held>[] = [];
  for (let i = 0; i < 1000; i++) opens.push(silent(port, i % 2 ? '127.0.0.2' : '127.0.0.3'));
  held.push(...(await Promise.all(opens)));
  const opened = performance.now() - t0;
  const openNow = held.filter((h) => h.closedAt === undefined).length;

  // While the flood is held: a caller through the tunnel, the REST API, and an agent reconnecting.
  const during = performance.now();
  const r = await call(`${c.tunnel.urls.service}/x`, {
    ca: c.tunnel.caPem,
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(r.status, 200);
  const rest = await fetch(`${c.url}/api/v1/agents`, {
    headers: { authorization: `Bearer ${c.adminToken}` },
  });
  assert.equal(rest.status, 200);
  const reconnects = agent.connections;
  for (const conn of c.tunnel.agents.connections('edge-1')) conn.close();
  while (agent.connections === reconnects || !c.tunnel.agents.has('edge-1')) await sleep(20);
  const again = await call(`${c.tunnel.urls.service}/x`, {
    ca: c.tunnel.caPem,
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(again.status, 200);
  const checks = performance.now() - during;

  // Each is closed within 30 s of being opened.
  const deadline = Math.max(...held.map((h) => h.openedAt)) + 30_000;
  while (held.some((h) => h.closedAt === undefined) && performance.now() < deadline) await sleep(50);
  const left = held.filter((h) => h.closedAt === undefined).length;
  for (const h of held as Array<Held & { timer?: NodeJS.Timeout }>) clearInterval(h.timer);
  assert.equal(left, 0, `${left} of ${held.length} flood connections still open 30 s after they were opened`);
  const last = Math.max(...held.map((h) => h.closedAt!)) - t0;
  const longest = Math.max(...held.map((h) => h.closedAt! - h.openedAt));
  console.log(
    `flood: ${held.length} connections opened in ${opened.toFixed(0)} ms (${openNow} open at once), ` +
      `each closed at most ${longest.toFixed(0)} ms after it was opened, the last ${last.toFixed(0)} ms after the first ` +
      `(deadlines ${handshakeMs}/${headMs} ms); ` +
      `caller, API and agent reconnect checked in ${checks.toFixed(0)} ms meanwhile`,
  );
});
