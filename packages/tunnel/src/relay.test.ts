import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ClientHttp2Session } from 'node:http2';
import { test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { OpenRequests } from './open-requests.js';
import { type AgentConnection, AgentRegistry } from './registry.js';
import { CallerConnection } from './relay.js';
import { frameBody, frameEnd, frameHead, frameHeaderBytes } from './relay-frames.js';
import type { ServiceAuthenticator, ServiceTarget } from './service-auth.js';
import { fakeStatusOf, silentLogger } from './testing.js';

/** A caller's TLS socket: what the relay writes, and whether it is paused. */
class FakeSocket extends EventEmitter {
  written = '';
  paused = false;
  remoteAddress = '127.0.0.1';
  writableLength = 0;
  setNoDelay() {}
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
  }
  cork() {}
  uncork() {}
  write(b: Buffer | string) {
    this.written += b.toString();
    return true;
  }
  end(b?: string) {
    if (b) this.written += b;
  }
  destroyed = false;
  destroy() {
    this.destroyed = true;
  }
}

/** A tunnel stream: the frames the relay sends to the agent. */
class FakeStream extends EventEmitter {
  readonly frames: Array<{ type: number; payload: string }> = [];
  writableLength = 0;
  write(b: Buffer) {
    for (let off = 0; off < b.length; ) {
      const len = b.readUInt32BE(off + 1);
      this.frames.push({
        type: b[off]!,
        payload: b.toString('latin1', off + frameHeaderBytes, off + frameHeaderBytes + len),
      });
      off += frameHeaderBytes + len;
    }
    return true;
  }
  resume() {}
  pause() {}
}

test("bytes that arrive while a caller's token is verified wait for it: the body is not read as a request", async () => {
  const target: ServiceTarget = {
    agent: 'edge-1',
    serviceType: 'x-web',
    serviceName: 'web',
    key: 'x-web/web',
    credential: 'tok-1',
  };
  let verified: (t: ServiceTarget) => void = () => {};
  const auth = {
    authenticateCaller: (_s: unknown, authorization: string | undefined) => {
      if (!authorization) throw Object.assign(new Error('no credentials'), { kind: 'UNAUTHENTICATED' });
      return new Promise<ServiceTarget>((r) => {
        verified = r;
      });
    },
  } as unknown as ServiceAuthenticator;
  const stream = new FakeStream();
  const agents = new AgentRegistry();
  agents.add({
    agent: 'edge-1',
    serviceKeys: new Set(['x-web/web']),
    stats: { requests: 0, errors: 0, active: 0 },
    session: { closed: false, destroyed: false, request: () => stream } as unknown as ClientHttp2Session,
  } as unknown as AgentConnection);
  const sock = new FakeSocket();
  new CallerConnection(sock as unknown as TLSSocket, {
    auth,
    agents,
    open: new OpenRequests(),
    log: silentLogger,
    statusOf: fakeStatusOf,
    headMs: 30_000,
  });
  // The body looks like a request of its own; it comes after its head while the token is checked
  // (the socket resumed by a 'drain' of an earlier stream, say).
  const body = 'GET /other HTTP/1.1\r\nhost: x\r\n\r\n';
  sock.emit(
    'data',
    Buffer.from(
      `POST /upload HTTP/1.1\r\nhost: x\r\nauthorization: Bearer t\r\ncontent-length: ${body.length}\r\n\r\n`,
    ),
  );
  assert.equal(sock.paused, true);
  sock.resume();
  sock.emit('data', Buffer.from(body));
  assert.equal(sock.written, '', 'nothing answered before the token is verified');
  verified(target);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    stream.frames.map((f) => f.type),
    [frameHead, frameBody, frameEnd],
  );
  assert.match(stream.frames[0]!.payload, /^POST \/upload HTTP\/1.1\r\n/);
  assert.equal(stream.frames[1]!.payload, body);
  assert.equal(sock.paused, false);
});

test('a request head trickling in one byte at a time is answered 408 at its deadline, not held', async () => {
  const sock = new FakeSocket();
  new CallerConnection(sock as unknown as TLSSocket, {
    auth: {} as ServiceAuthenticator,
    agents: new AgentRegistry(),
    open: new OpenRequests(),
    log: silentLogger,
    statusOf: fakeStatusOf,
    headMs: 200,
  });
  const head = 'GET / HTTP/1.1\r\nhost: x\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
  // Every byte comes well within any idle timeout; together they never finish the head.
  for (const ch of head) {
    if (sock.written) break;
    sock.emit('data', Buffer.from(ch));
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.match(sock.written, /^HTTP\/1.1 408 /);
  assert.match(sock.written, /did not arrive within/);
});

test('a connection that sends nothing at all is closed at the head deadline too', async () => {
  const sock = new FakeSocket();
  new CallerConnection(sock as unknown as TLSSocket, {
    auth: {} as ServiceAuthenticator,
    agents: new AgentRegistry(),
    open: new OpenRequests(),
    log: silentLogger,
    statusOf: fakeStatusOf,
    headMs: 50,
  });
  await new Promise((r) => setTimeout(r, 150));
  assert.match(sock.written, /^HTTP\/1.1 408 /);
});

test('a request with only bare-LF line endings is refused at once (400), not held for a CRLF that never comes', () => {
  const sock = new FakeSocket();
  new CallerConnection(sock as unknown as TLSSocket, {
    auth: {} as ServiceAuthenticator,
    agents: new AgentRegistry(),
    open: new OpenRequests(),
    log: silentLogger,
    statusOf: fakeStatusOf,
    headMs: 30_000,
  });
  sock.emit('data', Buffer.from('GET / HTTP/1.1\nHost: x\nAuthorization: Bearer t\n\n'));
  assert.match(sock.written, /^HTTP\/1.1 400 /);
});
