// Forwards one tunnelled HTTP/2 stream to a local service: the request and
// response bodies stream through with back-pressure, chunks are flushed as
// they come, cancellation goes both ways, and upgrades (WebSocket) become a
// bidirectional byte stream. Works on the raw HTTP/2 stream (no compatibility
// objects) to keep the hot path lean.
import type { ClientRequest, IncomingMessage } from 'node:http';
import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { tunnelResponseHeaders, upstreamRequestHeaders } from './headers.js';
import type { ForwardContext, Service } from './services.js';
import type { Stats } from './stats.js';

const maxSignedBody = 16 * 1024 * 1024;
const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR } = constants;

function fail(stream: ServerHttp2Stream, status: number, code: string, reason: string) {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    stream.close(NGHTTP2_INTERNAL_ERROR);
    return;
  }
  const body = JSON.stringify({ error: { code, message: reason } });
  stream.respond({
    ':status': status,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'skyway-error': encodeURIComponent(reason),
  });
  stream.end(body);
}

export function forward(
  stream: ServerHttp2Stream,
  h: IncomingHttpHeaders,
  services: Map<string, Service>,
  stats: Stats,
  log: Logger,
): void {
  const key = `${h['skyway-service-type']}/${h['skyway-service-name']}`;
  const svc = services.get(key);
  stream.on('error', () => {});
  if (!svc) {
    stream.resume();
    fail(stream, 404, 'NOT_FOUND', `agent has no service ${key}`);
    return;
  }
  const counters = stats.for(key);
  counters.requests++;
  counters.active++;
  let done = false;
  const finish = (error: boolean) => {
    if (done) return;
    done = true;
    counters.active--;
    if (error) counters.errors++;
  };
  const upgrade = h['skyway-upgrade'] as string | undefined;
  const ctx: ForwardContext = {
    method: h[':method'] as string,
    path: h[':path'] as string,
    headers: upstreamRequestHeaders(h),
    callerAuthorization: h['skyway-caller-authorization'] as string | undefined,
  };
  if (upgrade) {
    ctx.headers.connection = 'Upgrade';
    ctx.headers.upgrade = upgrade;
  }

  const start = (body?: Buffer) => {
    let up: ClientRequest;
    try {
      const target = svc.authorize(ctx, body);
      if (body) ctx.headers['content-length'] = body.length;
      up = svc.request(target, ctx);
    } catch (e) {
      finish(true);
      log.warn({ service: key, err: (e as Error).message }, 'cannot forward');
      fail(stream, 502, 'UNAVAILABLE', `agent cannot reach ${key}: ${(e as Error).message}`);
      return;
    }
    // The caller went away (RST_STREAM from the controller): abort the upstream request.
    stream.once('close', () => {
      if (stream.rstCode !== NGHTTP2_NO_ERROR || !stream.writableFinished) up.destroy();
      finish(false);
    });
    up.on('error', (e: NodeJS.ErrnoException) => {
      finish(true);
      if (stream.destroyed) return;
      log.debug({ service: key, err: e.message }, 'upstream error');
      fail(stream, 502, 'UNAVAILABLE', `${key} failed: ${e.code ?? e.message}`);
    });
    up.on('response', (r: IncomingMessage) => {
      if (stream.destroyed || stream.closed) {
        r.destroy();
        return;
      }
      const headers = tunnelResponseHeaders(r.headers);
      headers[':status'] = r.statusCode ?? 502;
      stream.respond(headers);
      r.on('error', () => stream.close(NGHTTP2_INTERNAL_ERROR));
      r.on('aborted', () => stream.close(NGHTTP2_INTERNAL_ERROR));
      // Each chunk goes out as it arrives; when the stream's window is full, only this upstream pauses.
      r.on('data', (chunk: Buffer) => {
        if (!stream.write(chunk)) r.pause();
      });
      stream.on('drain', () => r.resume());
      r.on('end', () => stream.end());
    });
    if (upgrade)
      up.on('upgrade', (r: IncomingMessage, socket: Socket, head: Buffer) => {
        const headers = tunnelResponseHeaders(r.headers);
        headers[':status'] = 200;
        headers['skyway-upgrade-status'] = String(r.statusCode ?? 101);
        headers['skyway-upgrade'] = r.headers.upgrade ?? upgrade;
        stream.respond(headers);
        if (head.length) stream.write(head);
        socket.setNoDelay(true);
        socket.pipe(stream);
        stream.pipe(socket);
        socket.on('error', () => stream.close(NGHTTP2_INTERNAL_ERROR));
        stream.on('close', () => socket.destroy());
      });
    if (body) up.end(body);
    else if (upgrade) {
      up.flushHeaders();
      up.end();
    } else if (stream.readableEnded || (stream as { endAfterHeaders?: boolean }).endAfterHeaders) up.end();
    else stream.pipe(up);
  };

  if (svc.needsBody && !upgrade) {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxSignedBody) {
        finish(true);
        fail(stream, 413, 'INVALID_ARGUMENT', `request bodies for ${key} are signed and limited to 16 MiB`);
        stream.close(NGHTTP2_INTERNAL_ERROR);
        return;
      }
      chunks.push(c);
    });
    stream.on('end', () => {
      if (size <= maxSignedBody) start(Buffer.concat(chunks));
    });
  } else start();
}
