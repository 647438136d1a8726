// The agent end of a relayed caller connection. The controller opens one
// HTTP/2 stream per caller connection and sends each request as frames
// (HEAD: the request head without the caller's credentials, BODY: raw body
// bytes, END: end of this request's body, CLOSE: the caller is done or gone).
// The agent adds its own credentials to each head and writes everything to a
// connection of its own to the service; the service's bytes go back
// unchanged. Flow control and back-pressure are those of the HTTP/2 stream;
// cancellation is CLOSE (or a reset).
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import {
  frameBody,
  frameClose,
  frameEnd,
  frameHead,
  frameHeaderBytes,
  relayMaxBuffered as maxBuffered,
} from '@skyway/tunnel/wire';
import type { Logger } from 'pino';
import { writeCopy } from './blocks.js';
import type { OriginLink, OriginUser } from './origin-pool.js';
import type { S3ChunkSigner } from './s3-chunks.js';
import type { ForwardContext, Service, Target } from './services.js';
import { RefusedRequest } from './sigv4.js';
import type { Stats } from './stats.js';

const maxSignedBody = 16 * 1024 * 1024;
const empty = Buffer.alloc(0);
const originUrl = (t: Target) => `${t.https ? 'https' : 'http'}://${t.host}`;

export function rawResponse(status: number, reason: string, code: string, message: string): Buffer {
  const body = JSON.stringify({ error: { code, message } });
  return Buffer.from(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nskyway-error: ${encodeURIComponent(message)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** A request head from the controller: what the service's credentials see, and the caller's HTTP version. */
type RequestHead = ForwardContext & { version: string };

function parseRequestHead(text: string): RequestHead {
  const lines = text.split('\r\n');
  const [method, path, version] = lines[0]!.split(' ');
  const headers: Record<string, string | string[]> = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const c = line.indexOf(':');
    if (c <= 0) continue;
    const k = line.slice(0, c).trim().toLowerCase();
    const v = line.slice(c + 1).trim();
    if (k === 'authorization' || k === 'proxy-authorization') continue;
    const prev = headers[k];
    headers[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const callerAuthorization = headers['skyway-caller-authorization'] as string | undefined;
  delete headers['skyway-caller-authorization'];
  // The caller's version stays: a service answering HTTP/1.0 as 1.1 may send a chunked body it cannot read.
  const v = version === 'HTTP/1.0' ? version : 'HTTP/1.1';
  return { method: method!, path: path ?? '', version: v, headers, callerAuthorization };
}

function serializeHead(ctx: RequestHead, target: Target): string {
  ctx.headers.host = target.host;
  let out = `${ctx.method} ${target.basePath}${ctx.path} ${ctx.version}\r\n`;
  for (const k in ctx.headers) {
    const v = ctx.headers[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const one of v) out += `${k}: ${one}\r\n`;
    else out += `${k}: ${v}\r\n`;
  }
  return `${out}\r\n`;
}

export function relay(
  stream: ServerHttp2Stream,
  h: IncomingHttpHeaders,
  services: Map<string, Service>,
  stats: Stats,
  log: Logger,
): void {
  const key = `${h['skyway-service-type']}/${h['skyway-service-name']}`;
  const svc = services.get(key);
  stream.on('error', () => {});
  stream.respond({ ':status': 200 });
  if (!svc) {
    stream.resume();
    stream.end(rawResponse(404, 'Not Found', 'NOT_FOUND', `agent has no service ${key}`));
    return;
  }
  const counters = stats.for(key);
  counters.active++;
  let origin: Socket | undefined;
  let link: OriginLink | undefined;
  let responseBytes = 0;
  let carry: Buffer | undefined;
  let signing: { ctx: RequestHead; chunks: Buffer[]; size: number } | undefined;
  /** The body of the request being sent has chunks signed by the caller, re-signed on the way. */
  let bodySigner: S3ChunkSigner | undefined;
  let closed = false;
  /** An error was answered (with connection: close): nothing more on this stream goes to the service. */
  let failed = false;
  /**
   * A request for another host than the open service connection's (AWS with the region taken
   * from each caller signature): the old connection is ended and the request, with everything
   * after it on the stream, waits until it closes, so that its answer still comes first.
   */
  let switching: { target: Target; head: string; body?: Buffer } | undefined;

  const failRequest = (status: number, reason: string, code: string, message: string) => {
    if (failed) return;
    failed = true;
    signing = undefined;
    bodySigner = undefined;
    switching = undefined;
    counters.errors++;
    if (responseBytes === 0 && !stream.destroyed && !stream.writableEnded)
      stream.end(rawResponse(status, reason, code, message));
    // A reset, at once: close(code) would first end the stream cleanly, and a response cut short
    // without a length would look complete.
    else stream.destroy(new Error(message));
    origin?.destroy();
    // Keep reading (and dropping) the stream, also if held back for the service, so that its end arrives.
    stream.resume();
  };

  const user: OriginUser = {
    // Plain TCP: reads land in the shared buffer and are copied into reused blocks (see blocks.ts).
    read(n, buf) {
      responseBytes += n;
      writeCopy(stream, buf, n);
      return stream.writableLength <= maxBuffered;
    },
    data(chunk) {
      responseBytes += chunk.length;
      stream.write(chunk);
      if (stream.writableLength > maxBuffered) origin?.pause();
    },
    end() {
      if (!switching && !stream.destroyed) stream.end();
    },
    error(e) {
      log.debug({ service: key, err: e.message }, 'upstream error');
      failRequest(502, 'Bad Gateway', 'UNAVAILABLE', `${key} failed: ${e.code ?? e.message}`);
    },
    close() {
      if (switching && !closed) return switched();
      if (!stream.destroyed && !stream.writableEnded) stream.end();
      // No 'drain' will come from a closed service connection to resume a stream held back for it.
      stream.resume();
    },
  };
  stream.on('drain', () => origin?.resume());

  const openOrigin = (target: Target) => {
    link = svc.pool.link(originUrl(target), (read) => svc.connect(target, read));
    link.user = user;
    origin = link.socket;
    return origin;
  };

  /** The controller is done with this stream: keep the service connection for the next one if it may serve again. */
  const release = (reusable: boolean) => {
    if (reusable && link && origin && !signing && !bodySigner && svc.pool.put(link)) origin = undefined;
    else origin?.destroy();
    link = undefined;
    if (!stream.writableEnded) stream.end();
    closed = true;
  };

  const sendHead = (ctx: RequestHead, body?: Buffer) => {
    let target: Target;
    try {
      target = svc.authorize(ctx, body);
      if (body) {
        ctx.headers['content-length'] = body.length;
        delete ctx.headers['transfer-encoding'];
      }
    } catch (e) {
      return cannotForward(e);
    }
    if (ctx.bodySigner) {
      // The chunks are found in the body as sent; HTTP chunked framing around them is not followed.
      if (ctx.headers['transfer-encoding'] !== undefined) return lengthRequired();
      bodySigner = ctx.bodySigner;
    }
    const head = serializeHead(ctx, target);
    if (origin && link && link.target !== originUrl(target)) {
      switching = { target, head, body };
      origin.end();
      return;
    }
    send(target, head, body);
  };

  const send = (target: Target, head: string, body?: Buffer): Socket | undefined => {
    let o: Socket;
    try {
      // Opening can throw (tls.connect with an unusable client key): inside a 'data' handler that would end the agent.
      o = origin ?? openOrigin(target);
    } catch (e) {
      cannotForward(e);
      return undefined;
    }
    o.write(head);
    if (body) o.write(body);
    return o;
  };

  /** The old service connection closed: the waiting request goes out, then what the stream held after it. */
  const switched = () => {
    const { target, head, body } = switching!;
    switching = undefined;
    origin = undefined;
    link = undefined;
    const o = send(target, head, body);
    onData(empty);
    if (switching) return;
    stream.resume();
    // The controller's end came while the request waited.
    if (stream.readableEnded) o?.end();
  };

  /** A body the agent re-signs is followed by its length, not by HTTP chunked framing. */
  const lengthRequired = () =>
    failRequest(
      411,
      'Length Required',
      'INVALID_ARGUMENT',
      `requests to ${key} are re-signed and need a content-length`,
    );

  const cannotForward = (e: unknown) => {
    const why = (e as Error).message;
    if (e instanceof RefusedRequest) failRequest(400, 'Bad Request', 'INVALID_ARGUMENT', why);
    else {
      log.warn({ service: key, err: why }, 'cannot forward');
      failRequest(502, 'Bad Gateway', 'UNAVAILABLE', `agent cannot reach ${key}: ${why}`);
    }
  };

  const onFrame = (type: number, payload: Buffer) => {
    if (failed && type !== frameClose) return;
    if (type === frameHead) {
      counters.requests++;
      const ctx = parseRequestHead(payload.toString('latin1'));
      // Only origin-form: an absolute-form target overrides the Host the service routes by (RFC 9112 3.2.2), and
      // CONNECT would tunnel anywhere, both with the agent's credentials.
      if (!ctx.path.startsWith('/')) {
        failRequest(400, 'Bad Request', 'INVALID_ARGUMENT', 'the request target must be a path');
        return;
      }
      // TRACE echoes the request, with the credentials the agent adds, back to the caller.
      if (ctx.method === 'TRACE' || ctx.method === 'TRACK') {
        failRequest(405, 'Method Not Allowed', 'INVALID_ARGUMENT', `${ctx.method} is not relayed`);
        return;
      }
      if (svc.needsBody && !ctx.headers.upgrade) {
        if (ctx.headers['transfer-encoding'] !== undefined) return lengthRequired();
        signing = { ctx, chunks: [], size: 0 };
        return;
      }
      sendHead(ctx);
    } else if (type === frameBody) {
      if (signing) {
        signing.size += payload.length;
        if (signing.size > maxSignedBody) {
          failRequest(
            413,
            'Payload Too Large',
            'INVALID_ARGUMENT',
            `request bodies for ${key} are limited to 16 MiB`,
          );
          return;
        }
        signing.chunks.push(payload);
        return;
      }
      if (!origin) return;
      if (bodySigner) {
        let parts: Buffer[];
        try {
          parts = bodySigner.push(payload);
        } catch (e) {
          return cannotForward(e);
        }
        for (const part of parts) origin.write(part);
      } else origin.write(payload);
      // One drain listener per hold-back, not one per frame of the chunk being parsed.
      if (origin.writableLength > maxBuffered && !stream.isPaused()) {
        stream.pause();
        origin.once('drain', () => stream.resume());
      }
    } else if (type === frameClose) {
      release(payload[0] === 1);
    } else if (type === frameEnd && signing) {
      const { ctx, chunks } = signing;
      signing = undefined;
      sendHead(ctx, Buffer.concat(chunks));
    } else if (type === frameEnd && bodySigner) {
      const complete = bodySigner.done;
      bodySigner = undefined;
      if (!complete)
        failRequest(
          400,
          'Bad Request',
          'INVALID_ARGUMENT',
          'the aws-chunked body ended before its final chunk',
        );
    }
  };

  const onData = (chunk: Buffer) => {
    const b = carry ? (chunk.length > 0 ? Buffer.concat([carry, chunk]) : carry) : chunk;
    carry = undefined;
    let off = 0;
    while (b.length - off >= frameHeaderBytes) {
      if (switching) {
        stream.pause();
        break;
      }
      const len = b.readUInt32BE(off + 1);
      if (b.length - off - frameHeaderBytes < len) break;
      onFrame(b[off]!, b.subarray(off + frameHeaderBytes, off + frameHeaderBytes + len));
      off += frameHeaderBytes + len;
      if (closed) return;
    }
    if (off < b.length) carry = b.subarray(off);
  };
  stream.on('data', onData);
  stream.on('end', () => {
    if (!switching) origin?.end();
  });
  stream.once('close', () => {
    closed = true;
    counters.active--;
    origin?.destroy();
  });
}
