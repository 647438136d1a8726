// The service port's hot path: one caller request becomes one HTTP/2 stream to
// an agent. Bodies stream both ways with HTTP/2 flow control (a slow caller
// only stalls its own stream), chunks are flushed as they arrive, and
// cancellation crosses in both directions. Upgrades (WebSocket) become a
// bidirectional byte stream on the same kind of stream.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { type ClientHttp2Stream, constants, type IncomingHttpHeaders as H2Headers } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { hopByHop } from './headers.js';
import type { AgentConnection, AgentRegistry } from './registry.js';
import type { ServiceTarget } from './service-auth.js';

const idempotent = new Set(['GET', 'HEAD', 'OPTIONS']);

export function errorJson(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra?: OutgoingHttpHeaders,
) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorJson(code, message);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}

function requestHeaders(req: IncomingMessage, target: ServiceTarget): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = {
    ':method': req.method,
    ':path': req.url,
    ':authority': 'agent',
    ':scheme': 'https',
    'skyway-service-type': target.serviceType,
    'skyway-service-name': target.serviceName,
  };
  const src = req.headers;
  for (const k in src) {
    if (hopByHop.has(k) || k === 'authorization' || k.startsWith('skyway-')) continue;
    h[k] = src[k];
  }
  const sock = req.socket as TLSSocket;
  const xff = src['x-forwarded-for'];
  h['x-forwarded-for'] = xff ? `${xff}, ${sock.remoteAddress}` : sock.remoteAddress;
  h['x-forwarded-proto'] = 'https';
  if (src.host) h['x-forwarded-host'] = src.host;
  // AWS callers sign with a placeholder key; the agent reads the region and service from it and re-signs.
  const auth = src.authorization;
  if (target.serviceType === 'aws' && auth?.startsWith('AWS4-HMAC-SHA256 '))
    h['skyway-caller-authorization'] = auth;
  return h;
}

function responseHeaders(h: H2Headers): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const k in h) {
    if (k.charCodeAt(0) === 58 || hopByHop.has(k) || k.startsWith('skyway-')) continue;
    out[k] = h[k];
  }
  return out;
}

export class ServiceProxy {
  constructor(private readonly agents: AgentRegistry) {}

  private pick(target: ServiceTarget, exclude?: AgentConnection) {
    return this.agents.pick(target.agent, target.key, exclude);
  }

  private unavailable(target: ServiceTarget) {
    return this.agents.has(target.agent)
      ? `agent "${target.agent}" is connected but offers no ${target.key} service`
      : `agent "${target.agent}" is not connected`;
  }

  handle(req: IncomingMessage, res: ServerResponse, target: ServiceTarget) {
    const conn = this.pick(target);
    if (!conn) {
      req.resume();
      sendError(res, 503, 'UNAVAILABLE', this.unavailable(target), { 'retry-after': '1' });
      return;
    }
    const cl = req.headers['content-length'];
    const hasBody = cl !== undefined ? cl !== '0' : req.headers['transfer-encoding'] !== undefined;
    this.attempt(req, res, target, conn, hasBody, requestHeaders(req, target), true);
  }

  private attempt(
    req: IncomingMessage,
    res: ServerResponse,
    target: ServiceTarget,
    conn: AgentConnection,
    hasBody: boolean,
    headers: OutgoingHttpHeaders,
    mayRetry: boolean,
  ): void {
    let stream: ClientHttp2Stream;
    try {
      stream = conn.session.request(headers, { endStream: !hasBody });
    } catch {
      this.retryOrFail(req, res, target, conn, hasBody, headers, mayRetry, 'agent connection is closing');
      return;
    }
    const stats = conn.stats;
    stats.requests++;
    stats.active++;
    let responded = false;
    let settled = false;
    const settle = (error: boolean) => {
      if (settled) return;
      settled = true;
      stats.active--;
      if (error) stats.errors++;
    };
    stream.on('response', (h) => {
      responded = true;
      const status = Number(h[':status']);
      if (status >= 500 && h['skyway-error']) stats.errors++;
      res.writeHead(status, responseHeaders(h));
      // Chunks go out as they arrive: those that arrive in the same tick (one socket read carries
      // several DATA frames) are written together, then flushed before the next tick, so watches see
      // no delay. Back-pressure pauses this stream only (its HTTP/2 window closes).
      let corked = false;
      const uncork = () => {
        corked = false;
        res.uncork();
      };
      stream.on('data', (chunk: Buffer) => {
        if (!corked) {
          corked = true;
          res.cork();
          process.nextTick(uncork);
        }
        if (!res.write(chunk)) stream.pause();
      });
      res.on('drain', () => stream.resume());
      stream.on('end', () => res.end());
    });
    stream.on('error', () => {});
    stream.on('close', () => {
      const ok = stream.rstCode === constants.NGHTTP2_NO_ERROR && (responded ? stream.readableEnded : false);
      settle(!ok);
      if (ok) return;
      if (res.writableFinished || res.destroyed) return;
      if (responded) {
        // The upstream or the agent failed mid-response: the caller sees the connection cut.
        res.destroy();
        return;
      }
      const lost = conn.session.destroyed || conn.session.closed;
      const reason = lost
        ? `lost the connection to agent "${target.agent}"`
        : `agent "${target.agent}" reset the request (HTTP/2 code ${stream.rstCode})`;
      this.retryOrFail(req, res, target, conn, hasBody, headers, mayRetry && lost, reason);
    });
    // The caller went away: cancel the stream, which aborts the upstream request on the agent.
    res.on('close', () => {
      if (!res.writableFinished && !stream.closed) stream.close(constants.NGHTTP2_CANCEL);
    });
    if (hasBody) req.pipe(stream);
  }

  private retryOrFail(
    req: IncomingMessage,
    res: ServerResponse,
    target: ServiceTarget,
    failed: AgentConnection,
    hasBody: boolean,
    headers: OutgoingHttpHeaders,
    mayRetry: boolean,
    reason: string,
  ): void {
    if (mayRetry && !hasBody && idempotent.has(req.method ?? '') && !res.destroyed) {
      const next = this.pick(target, failed);
      if (next) {
        this.attempt(req, res, target, next, hasBody, headers, false);
        return;
      }
    }
    sendError(res, 502, 'UNAVAILABLE', reason);
  }

  /** An HTTP/1.1 upgrade (WebSocket): relayed as raw bytes once the origin switches protocols. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: ServiceTarget) {
    const fail = (status: number, code: string, message: string) => {
      const body = errorJson(code, message);
      socket.end(
        `HTTP/1.1 ${status} ${status === 503 ? 'Service Unavailable' : 'Bad Gateway'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    };
    const conn = this.pick(target);
    if (!conn) return fail(503, 'UNAVAILABLE', this.unavailable(target));
    const headers = requestHeaders(req, target);
    headers['skyway-upgrade'] = req.headers.upgrade;
    let stream: ClientHttp2Stream;
    try {
      stream = conn.session.request(headers, { endStream: false });
    } catch {
      return fail(502, 'UNAVAILABLE', 'agent connection is closing');
    }
    conn.stats.requests++;
    conn.stats.active++;
    let responded = false;
    stream.on('error', () => {});
    socket.on('error', () => {});
    stream.on('response', (h) => {
      responded = true;
      const switched = h['skyway-upgrade-status'] === '101';
      const status = switched ? 101 : Number(h[':status']);
      const lines = [`HTTP/1.1 ${status} ${switched ? 'Switching Protocols' : 'Upstream Response'}`];
      if (switched) lines.push('connection: Upgrade', `upgrade: ${h['skyway-upgrade']}`);
      else lines.push('connection: close');
      for (const [k, v] of Object.entries(responseHeaders(h))) {
        if (k === 'content-length' && !switched) continue;
        for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${one}`);
      }
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (switched) {
        if (head.length) stream.write(head);
        socket.pipe(stream);
      } else stream.end();
      stream.pipe(socket);
    });
    stream.on('close', () => {
      conn.stats.active--;
      if (!responded) fail(502, 'UNAVAILABLE', `agent "${target.agent}" could not upgrade the connection`);
      else socket.destroy();
    });
    socket.on('close', () => {
      if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
    });
  }
}
