import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { once } from 'node:events';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { test } from 'node:test';
import { frameBody, frameClose, frameEnd, frameHead, frame as relayFrame } from '@skyway/tunnel/wire';
import pino from 'pino';
import { relay } from './relay.js';
import { S3ChunkSigner } from './s3-chunks.js';
import { Service, type ServiceConfig, type Target } from './services.js';
import { ecdsaKey, hmacSigner, sha256 } from './sigv4.js';
import { Stats } from './stats.js';

/** One frame as the controller writes it (a head given as text). */
const frame = (type: number, payload?: Buffer | string) =>
  Buffer.concat(relayFrame(type, typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload));

/** An origin that records what it receives; `onConn` decides what to do with each connection. */
async function origin(onConn: (s: net.Socket, received: () => string) => void = () => {}) {
  const conns: Array<{ sock: net.Socket; data: Buffer[] }> = [];
  const server = net.createServer((sock) => {
    const c = { sock, data: [] as Buffer[] };
    conns.push(c);
    sock.on('error', () => {});
    sock.on('data', (d) => c.data.push(d));
    onConn(sock, () => Buffer.concat(c.data).toString('latin1'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    conns,
    received: () => conns.map((c) => Buffer.concat(c.data).toString('latin1')).join(''),
    close: () => {
      for (const c of conns) c.sock.destroy();
      server.close();
    },
  };
}

/** An HTTP/2 server relaying to `svc`, and a client session to it (the controller's role). */
async function tunnel(cfg: ServiceConfig, setup?: (svc: Service) => void) {
  const svc = new Service(cfg);
  setup?.(svc);
  const services = new Map([[svc.key, svc]]);
  const stats = new Stats();
  // As the agent's server (agent.ts).
  const server = http2.createServer({
    settings: { initialWindowSize: 1 << 20, maxConcurrentStreams: 100_000, maxFrameSize: 1 << 16 },
    maxSessionMemory: 256,
  });
  server.on('session', (s) => s.setLocalWindowSize(16 << 20));
  server.on('stream', (stream, headers) =>
    relay(stream, headers, services, stats, pino({ level: 'silent' })),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const session = http2.connect(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, {
    maxSessionMemory: 256,
  });
  session.on('error', () => {});
  const open = () => {
    const stream = session.request(
      {
        ':method': 'POST',
        ':path': '/relay',
        'skyway-relay': '1',
        'skyway-service-type': cfg.type,
        'skyway-service-name': cfg.name,
      },
      { endStream: false },
    );
    stream.on('error', () => {});
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    const closed = new Promise<void>((r) => stream.once('close', r));
    return { stream, closed, response: () => Buffer.concat(chunks).toString('latin1') };
  };
  return {
    svc,
    stats,
    open,
    close: () => {
      session.destroy();
      server.close();
      svc.close();
    },
  };
}

/**
 * Runs `run` with an origin (each connection handed to `onConn`) and a tunnel to the service
 * `cfg` describes at the origin's url; closes both after, whatever `run` does.
 */
async function withTunnel<T>(
  cfg: (url: string) => ServiceConfig,
  run: (t: Awaited<ReturnType<typeof tunnel>>, o: Awaited<ReturnType<typeof origin>>) => Promise<T>,
  onConn?: Parameters<typeof origin>[0],
): Promise<T> {
  const o = await origin(onConn);
  const t = await tunnel(cfg(o.url));
  try {
    return await run(t, o);
  } finally {
    t.close();
    o.close();
  }
}

/** A plain service at `url`, no credentials added. */
const webService = (url: string): ServiceConfig => ({ name: 'web', type: 'x-web', url });

const until = async (what: () => boolean, ms = 2_000) => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('a service connection that cannot be opened is a 502, not a crash of the agent', {
  timeout: 10_000,
}, async () => {
  const t = await tunnel(webService('http://127.0.0.1:1'), (svc) => {
    // As tls.connect does for an unreadable client key (e.g. an encrypted one in a kubeconfig).
    svc.connect = () => {
      throw new Error('error:1E08010C:DECODER routines::unsupported');
    };
  });
  try {
    const s = t.open();
    s.stream.end(frame(frameHead, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n'));
    await s.closed;
    assert.match(s.response(), /^HTTP\/1\.1 502 /);
  } finally {
    t.close();
  }
});

test('keeps the caller HTTP version (an HTTP/1.0 caller cannot read a chunked response)', {
  timeout: 10_000,
}, async () => {
  await withTunnel(webService, async (t, o) => {
    const s = t.open();
    s.stream.write(frame(frameHead, 'GET /a HTTP/1.0\r\nx-one: 1\r\n\r\n'));
    s.stream.write(frame(frameEnd));
    await until(() => o.received().includes('\r\n\r\n'));
    assert.match(o.received(), /^GET \/a HTTP\/1\.0\r\n/);
    s.stream.end(frame(frameClose, Buffer.from([0])));
    await s.closed;
  });
});

test('refuses requests that would turn the credentials the agent adds against it', {
  timeout: 10_000,
}, async () => {
  await withTunnel(
    (url) => ({
      name: 'web',
      type: 'x-web',
      url,
      credentials: { type: 'bearer', token: 'agent-secret' },
    }),
    async (t, o) => {
      for (const [line, status] of [
        // Absolute-form would override the Host the service routes by; CONNECT would tunnel anywhere.
        ['GET http://other.internal/ HTTP/1.1', 400],
        ['CONNECT db.internal:5432 HTTP/1.1', 400],
        // The service would echo the request, the added credentials included.
        ['TRACE / HTTP/1.1', 405],
      ] as const) {
        const s = t.open();
        s.stream.end(frame(frameHead, `${line}\r\nhost: x\r\n\r\n`));
        await s.closed;
        assert.match(s.response(), new RegExp(`^HTTP/1\\.1 ${status} `));
        assert.ok(!s.response().includes('agent-secret'));
      }
      assert.equal(o.conns.length, 0);
    },
  );
});

const s3Service = (url: string): ServiceConfig => ({
  name: 'store',
  type: 'aws',
  url,
  credentials: {
    type: 'aws',
    accessKeyId: 'AKID',
    secretAccessKey: 'agent-secret',
    region: 'eu-west-1',
    service: 's3',
  },
});

/**
 * Uploads 70,000 bytes in aws-chunked encoding with chunks the caller signed (`callerSig`), in
 * frames that split chunk headers and data anywhere; returns the head and body the service got.
 */
async function signedChunkUpload(algorithm: string, callerSig: string, extraHead = '') {
  return withTunnel(s3Service, async (t, o) => {
    const data = Buffer.alloc(70_000, 'z');
    const chunks = `10000;chunk-signature=${callerSig}\r\n${data.toString('latin1', 0, 65536)}\r\n${(70_000 - 65536).toString(16)};chunk-signature=${callerSig}\r\n${data.toString('latin1', 65536)}\r\n0;chunk-signature=${callerSig}\r\n\r\n`;
    const s = t.open();
    s.stream.write(
      frame(
        frameHead,
        `PUT /bucket/key HTTP/1.1\r\nx-amz-content-sha256: STREAMING-${algorithm}-PAYLOAD\r\ncontent-encoding: aws-chunked\r\nx-amz-decoded-content-length: 70000\r\ncontent-length: ${chunks.length}\r\n${extraHead}\r\n`,
      ),
    );
    const bytes = Buffer.from(chunks, 'latin1');
    for (let i = 0; i < bytes.length; i += 9_999)
      s.stream.write(frame(frameBody, bytes.subarray(i, i + 9_999)));
    s.stream.write(frame(frameEnd));
    await until(() => o.received().length >= o.received().indexOf('\r\n\r\n') + 4 + chunks.length);
    const got = o.received();
    const headEnd = got.indexOf('\r\n\r\n') + 4;
    const head = got.slice(0, headEnd);
    const sent = Buffer.from(got.slice(headEnd), 'latin1');
    assert.match(head, new RegExp(`content-length: ${chunks.length}\r\n`));
    assert.equal(sent.length, chunks.length);
    assert.ok(!sent.includes(callerSig));
    s.stream.end(frame(frameClose, Buffer.from([0])));
    await s.closed;
    const amzDate = /x-amz-date: (\d{8}T\d{6}Z)/.exec(head)![1]!;
    return { head, sent, amzDate };
  });
}

test('an S3 upload with chunks the caller signed reaches the service with every chunk re-signed by the agent', {
  timeout: 10_000,
}, async () => {
  const { head, sent, amzDate } = await signedChunkUpload('AWS4-HMAC-SHA256', 'c'.repeat(64));
  // The chunks chain to the agent's request signature: signing them again from it changes nothing.
  const seed = /Signature=([0-9a-f]{64})/.exec(head)![1]!;
  const signer = new S3ChunkSigner(
    {
      signature: seed,
      algorithm: 'AWS4-HMAC-SHA256',
      sign: hmacSigner('agent-secret', amzDate.slice(0, 8), 'eu-west-1', 's3'),
      amzDate,
      scope: `${amzDate.slice(0, 8)}/eu-west-1/s3/aws4_request`,
    },
    false,
  );
  assert.ok(Buffer.concat(signer.push(sent)).equals(sent));
  assert.ok(signer.done);
});

test('a SigV4a upload is signed with SigV4a: request and chunks verify with the public key of the agent credentials', {
  timeout: 10_000,
}, async () => {
  const { head, sent, amzDate } = await signedChunkUpload(
    'AWS4-ECDSA-P256-SHA256',
    `${'c'.repeat(140)}****`,
    'x-amz-region-set: eu-west-1\r\nskyway-caller-authorization: AWS4-ECDSA-P256-SHA256 Credential=X/20240101/s3/aws4_request, SignedHeaders=host, Signature=30\r\n',
  );
  const publicKey = createPublicKey(ecdsaKey('AKID', 'agent-secret'));
  const scope = `${amzDate.slice(0, 8)}/s3/aws4_request`;
  assert.match(head, new RegExp(`authorization: AWS4-ECDSA-P256-SHA256 Credential=AKID/${scope}, `));
  const verifies = (toSign: string, signature: string) =>
    verify('sha256', Buffer.from(toSign), publicKey, Buffer.from(signature, 'hex'));
  // Each chunk signature (hex DER, padded with "*" to 144) chains to the one before, the first to the request's.
  let previous = /Signature=([0-9a-f]+)\r\n/.exec(head)![1]!;
  const text = sent.toString('latin1');
  const re = /([0-9a-f]+);chunk-signature=([0-9a-f]+)(\**)\r\n/g;
  let chunks = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const data = text.substr(m.index + m[0].length, Number.parseInt(m[1]!, 16));
    assert.equal(m[2]!.length + m[3]!.length, 144);
    const toSign = [
      'AWS4-ECDSA-P256-SHA256-PAYLOAD',
      amzDate,
      scope,
      previous,
      sha256(''),
      sha256(Buffer.from(data, 'latin1')),
    ];
    assert.ok(verifies(toSign.join('\n'), m[2]!), `chunk ${chunks}`);
    previous = m[2]!;
    re.lastIndex = m.index + m[0].length + data.length;
    chunks++;
  }
  assert.equal(chunks, 3);
});

test('S3 chunks that cannot be re-signed are answered 400 saying why', { timeout: 10_000 }, async () => {
  await withTunnel(s3Service, async (t, o) => {
    const put = (sha: string, length: number) =>
      `PUT /bucket/key HTTP/1.1\r\nx-amz-content-sha256: ${sha}\r\ncontent-length: ${length}\r\n\r\n`;
    for (const [head, bodyBytes, message] of [
      // A payload signing the agent does not know. Nothing reaches the service.
      [put('STREAMING-AWS4-RSA-PAYLOAD', 0), '', /cannot re-sign this payload/],
      // A body that ends before its final chunk.
      [put('STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 0), '', /ended before its final chunk/],
      [put('STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 7), 'hello\r\n', /chunk header that is not/],
    ] as const) {
      const s = t.open();
      s.stream.write(frame(frameHead, head));
      if (bodyBytes) s.stream.write(frame(frameBody, bodyBytes));
      s.stream.end(frame(frameEnd));
      await s.closed;
      assert.match(s.response(), /^HTTP\/1\.1 400 /);
      assert.match(decodeURIComponent(/skyway-error: (.*)\r\n/.exec(s.response())![1]!), message);
    }
    assert.ok(!o.received().includes('RSA'));
  });
});

test('a signed body over the limit is answered 413 once, and nothing later on the stream is forwarded', {
  timeout: 10_000,
}, async () => {
  await withTunnel(
    (url) => ({
      name: 'acct',
      type: 'aws',
      url,
      credentials: {
        type: 'aws',
        accessKeyId: 'AKID',
        secretAccessKey: 'secret',
        region: 'eu-west-1',
        service: 'ec2',
      },
    }),
    async (t, o) => {
      const s = t.open();
      const size = 17 * 1024 * 1024;
      s.stream.write(frame(frameHead, `POST / HTTP/1.1\r\ncontent-length: ${size}\r\n\r\n`));
      const mib = Buffer.alloc(1024 * 1024, 'a');
      for (let i = 0; i < 17; i++) s.stream.write(frame(frameBody, mib));
      s.stream.write(frame(frameEnd));
      s.stream.write(frame(frameHead, 'GET /?Action=DescribeVpcs HTTP/1.1\r\n\r\n'));
      s.stream.write(frame(frameEnd));
      await until(() => s.response().includes('\r\n\r\n'));
      await new Promise((r) => setTimeout(r, 200));
      assert.match(s.response(), /^HTTP\/1\.1 413 /);
      // Neither the truncated body nor the next request reached the service.
      assert.equal(o.conns.length, 0);
      s.stream.end(frame(frameClose, Buffer.from([0])));
      await s.closed;
      assert.equal(s.stream.rstCode, http2.constants.NGHTTP2_NO_ERROR);
      assert.equal(t.stats.for('aws/acct').errors, 1);
    },
  );
});

test('a stream held back for a slow service is read again when the service goes away', {
  timeout: 10_000,
}, async () => {
  // The service never reads, so the request body backs up and the relay stops reading its stream.
  await withTunnel(
    webService,
    async (t, o) => {
      const s = t.open();
      s.stream.write(frame(frameHead, 'POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n'));
      const mib = Buffer.alloc(1024 * 1024, 'a');
      for (let i = 0; i < 64; i++) s.stream.write(frame(frameBody, mib));
      await until(() => o.conns.length === 1);
      await new Promise((r) => setTimeout(r, 200));
      o.conns[0]!.sock.destroy();
      // The controller's CLOSE (and end of stream) must still be read, or only a reset ends the stream.
      s.stream.end(frame(frameClose, Buffer.from([0])));
      const timer = setTimeout(() => s.stream.close(http2.constants.NGHTTP2_CANCEL), 3_000);
      await s.closed;
      clearTimeout(timer);
      assert.equal(s.stream.rstCode, http2.constants.NGHTTP2_NO_ERROR);
    },
    (sock) => sock.pause(),
  );
});

test('a request for another host than the open service connection waits for its answer to finish, then goes there', {
  timeout: 10_000,
}, async () => {
  // Two services; requests to /a go to the first, /b to the second (as AWS with the region from each caller signature).
  const closedA: string[] = [];
  const serve = (name: string, delayMs: number) => {
    const server = http.createServer((req, res) => {
      req.socket.once('close', () => closedA.push(name));
      setTimeout(() => res.end(`${name}${req.url}`), delayMs);
    });
    server.listen(0, '127.0.0.1');
    return server;
  };
  const a = serve('A', 200);
  const b = serve('B', 0);
  await Promise.all([once(a, 'listening'), once(b, 'listening')]);
  const targetOf = (server: http.Server): Target => {
    const port = (server.address() as net.AddressInfo).port;
    return { https: false, hostname: '127.0.0.1', port, basePath: '', host: `127.0.0.1:${port}` };
  };
  const t = await tunnel({ name: 'acct', type: 'x-acct', url: 'http://127.0.0.1:1' }, (svc) => {
    svc.authorize = (ctx) => targetOf(ctx.path.startsWith('/a') ? a : b);
  });
  try {
    const s = t.open();
    // Pipelined: the second request arrives while the first one's answer is still being made.
    s.stream.write(frame(frameHead, 'GET /a1 HTTP/1.1\r\nhost: x\r\n\r\n'));
    s.stream.write(frame(frameEnd));
    s.stream.write(frame(frameHead, 'GET /b1 HTTP/1.1\r\nhost: x\r\n\r\n'));
    s.stream.write(frame(frameEnd));
    s.stream.write(frame(frameHead, 'GET /b2 HTTP/1.1\r\nhost: x\r\n\r\n'));
    s.stream.write(frame(frameEnd));
    await until(() => s.response().includes('B/b2'));
    const r = s.response();
    assert.ok(r.indexOf('A/a1') < r.indexOf('B/b1') && r.indexOf('B/b1') < r.indexOf('B/b2'), r);
    assert.deepEqual(closedA, ['A'], 'the connection to the first service was ended');
    s.stream.end(frame(frameClose, Buffer.from([0])));
    await s.closed;
  } finally {
    t.close();
    a.close();
    b.close();
  }
});

test('a service connection reset in the middle of an answer resets the stream (the cut answer does not end as if complete)', {
  timeout: 10_000,
}, async () => {
  await withTunnel(
    webService,
    async (t) => {
      const s = t.open();
      // The controller takes an end of the stream (END_STREAM) for the end of a close-delimited answer.
      let ended = false;
      s.stream.on('end', () => {
        ended = true;
      });
      s.stream.write(frame(frameHead, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n'));
      s.stream.write(frame(frameEnd));
      await s.closed;
      assert.match(s.response(), /partial$/);
      assert.equal(ended, false);
      assert.equal(s.stream.rstCode, http2.constants.NGHTTP2_INTERNAL_ERROR);
    },
    (sock, received) => {
      sock.on('data', () => {
        if (!received().includes('\r\n\r\n')) return;
        // No length: the body would run to the close, so only a reset tells it was cut.
        sock.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\npartial');
        setTimeout(() => sock.resetAndDestroy(), 50);
      });
    },
  );
});
