import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { test } from 'node:test';
import * as tls from 'node:tls';
import { guardListener } from './guard.js';
import { silentLogger } from './testing.js';

async function listen(g: Parameters<typeof guardListener>[1]) {
  // No certificate needed: none of these connections gets as far as a handshake.
  const server = tls.createServer({});
  guardListener(server, g, silentLogger, 'test');
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as net.AddressInfo).port };
}

/** Opens a TCP connection from `localAddress`; `closed` says whether the server has closed it. */
async function open(port: number, localAddress: string) {
  const s = net.connect({ port, host: '127.0.0.1', localAddress });
  s.on('error', () => {});
  await once(s, 'connect');
  const conn = { s, closed: false };
  s.once('close', () => {
    conn.closed = true;
  });
  return conn;
}

const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
};

test('connections beyond the cap per source and per listener are closed as they come', async () => {
  const { server, port } = await listen({ handshakeMs: 60_000, maxPerSource: 5, maxConnections: 8 });
  try {
    const a: Array<{ s: net.Socket; closed: boolean }> = [];
    for (let i = 0; i < 7; i++) a.push(await open(port, '127.0.0.1'));
    await until(() => a.filter((c) => c.closed).length >= 2);
    assert.equal(a.filter((c) => !c.closed).length, 5);
    // Another source still gets in, up to the listener's cap.
    const b: Array<{ s: net.Socket; closed: boolean }> = [];
    for (let i = 0; i < 4; i++) b.push(await open(port, '127.0.0.2'));
    await until(() => b.filter((c) => c.closed).length >= 1);
    assert.equal(b.filter((c) => !c.closed).length, 3);
    for (const c of [...a, ...b]) c.s.destroy();
  } finally {
    server.close();
  }
});

test('a handshake that does not finish in time is closed, however slowly its bytes trickle in', async () => {
  const { server, port } = await listen({ handshakeMs: 300, maxPerSource: 100, maxConnections: 100 });
  try {
    const silent = await open(port, '127.0.0.1');
    const trickle = await open(port, '127.0.0.1');
    // The start of a TLS record (a ClientHello that never ends), one byte at a time.
    const bytes = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);
    let i = 0;
    const t = setInterval(
      () => !trickle.closed && i < bytes.length && trickle.s.write(bytes.subarray(i, ++i)),
      50,
    );
    await until(() => silent.closed && trickle.closed);
    clearInterval(t);
  } finally {
    server.close();
  }
});
