// Forwards one tunnelled HTTP/2 stream to a local service: the request and
// response bodies stream through with back-pressure, chunks are flushed as
// they come, cancellation goes both ways, and upgrades (WebSocket) become a
// bidirectional byte stream.
import type { ClientRequest, IncomingMessage } from 'node:http';
import { constants, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { tunnelResponseHeaders, upstreamRequestHeaders } from './headers.js';
import type { ForwardContext, Service } from './services.js';
import type { Stats } from './stats.js';

const maxSignedBody = 16 * 1024 * 1024;

function fail(res: Http2ServerResponse, status: number, code: string, reason: string) {
  if (res.headersSent || res.stream.destroyed) {
    res.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  const body = JSON.stringify({ error: { code, message: reason } });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'skyway-error': encodeURIComponent(reason),
  });
  res.end(body);
}

export function forward(
  req: Http2ServerRequest,
  res: Http2ServerResponse,
  services: Map<string, Service>,
  stats: Stats,
  log: Logger,
): void {
  const h = req.headers;
  const key = `${h['skyway-service-type']}/${h['skyway-service-name']}`;
  const svc = services.get(key);
  if (!svc) {
    req.resume();
    fail(res, 404, 'NOT_FOUND', `agent has no service ${key}`);
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
      fail(res, 502, 'UNAVAILABLE', `agent cannot reach ${key}: ${(e as Error).message}`);
      return;
    }
    // The caller went away (RST_STREAM from the controller): abort upstream.
    res.stream.once('close', () => {
      if (!res.writableFinished || res.stream.rstCode !== constants.NGHTTP2_NO_ERROR) up.destroy();
      finish(false);
    });
    up.on('error', (e: NodeJS.ErrnoException) => {
      finish(true);
      if (res.stream.destroyed) return;
      log.debug({ service: key, err: e.message }, 'upstream error');
      fail(res, 502, 'UNAVAILABLE', `${key} failed: ${e.code ?? e.message}`);
    });
    up.on('response', (r: IncomingMessage) => {
      if (res.stream.destroyed) {
        r.destroy();
        return;
      }
      res.writeHead(r.statusCode ?? 502, tunnelResponseHeaders(r.headers) as never);
      r.on('aborted', () => res.stream.close(constants.NGHTTP2_INTERNAL_ERROR));
      r.on('error', () => res.stream.close(constants.NGHTTP2_INTERNAL_ERROR));
      r.pipe(res);
    });
    up.on('upgrade', (r: IncomingMessage, socket: Socket, head: Buffer) => {
      const headers = tunnelResponseHeaders(r.headers);
      headers['skyway-upgrade-status'] = String(r.statusCode ?? 101);
      headers['skyway-upgrade'] = r.headers.upgrade ?? upgrade;
      res.writeHead(200, headers as never);
      if (head.length) res.write(head);
      socket.setNoDelay(true);
      socket.pipe(res);
      req.pipe(socket);
      socket.on('error', () => res.stream.close(constants.NGHTTP2_INTERNAL_ERROR));
      res.stream.on('close', () => socket.destroy());
    });
    if (body) up.end(body);
    else if (upgrade) {
      up.flushHeaders();
      up.end();
    } else req.pipe(up);
  };

  if (svc.needsBody && !upgrade) {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxSignedBody) {
        req.destroy();
        finish(true);
        fail(res, 413, 'INVALID_ARGUMENT', `request bodies for ${key} are signed and limited to 16 MiB`);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (size <= maxSignedBody) start(Buffer.concat(chunks));
    });
  } else start();
}
