// HTTP/2 callers on the service port (offered by ALPN; kubectl and most
// HTTP/2 clients take it): every caller stream is one request, authenticated
// on its own and relayed over a tunnel stream of its own, so one connection
// carries many watches, to as many services as its streams' credentials
// allow. The agent still speaks HTTP/1.1 to the service, so the request goes
// out as an HTTP/1.1 head (a body of unknown length chunk-encoded) and the
// response's head and body are translated back into HTTP/2.
import * as http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import {
  authFailure,
  closeTunnel,
  errorBody,
  type Failure,
  frame,
  frameBody,
  frameEnd,
  headFrame,
  howClosed,
  idempotent,
  keepsConnection,
  maxBuffered,
  openTunnelStream,
  type RelayDeps,
  requestHeadText,
} from './forward.js';
import { type BodyTracker, headEnd, header, maxHeadBytes, parseHead, responseBody } from './h1.js';
import type { AgentConnection } from './registry.js';
import type { ServiceTarget } from './service-auth.js';

const { NGHTTP2_INTERNAL_ERROR } = http2.constants;

/** Headers about one hop of HTTP/1.1 that HTTP/2 forbids (RFC 9113, 8.2.2). */
const hopHeaders = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'http2-settings',
]);
/** A connection without streams for this long is closed. */
const idleMs = 120_000;
const lastChunk = Buffer.from('0\r\n\r\n');
const crlf = Buffer.from('\r\n');

interface CallerSession {
  sock: TLSSocket;
  streams: number;
}

/** The HTTP/2 side of the service port: `accept` takes a caller's TLS socket that chose "h2". */
export function http2Callers(deps: RelayDeps) {
  const server = http2.createServer({
    settings: { maxConcurrentStreams: 4096, initialWindowSize: 256 * 1024 },
    maxSessionMemory: 64,
  });
  const sessions = new WeakMap<http2.Http2Session, CallerSession>();
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    const cs = sessions.get(stream.session!);
    if (!cs) {
      stream.close(NGHTTP2_INTERNAL_ERROR);
      return;
    }
    cs.streams++;
    stream.once('close', () => cs.streams--);
    new CallerStream(stream, headers, cs.sock, deps);
  });
  return {
    accept(sock: TLSSocket) {
      sock.setNoDelay(true);
      server.once('session', (session: http2.ServerHttp2Session) => {
        const cs: CallerSession = { sock, streams: 0 };
        sessions.set(session, cs);
        session.on('error', () => {});
        session.setLocalWindowSize(16 << 20);
        session.setTimeout(idleMs, () => {
          if (cs.streams === 0) session.close();
        });
      });
      server.emit('connection', sock);
    },
  };
}

class CallerStream {
  private readonly method: string;
  private target?: ServiceTarget;
  private tunnel?: http2.ClientHttp2Stream;
  private conn?: AgentConnection;
  /** The request again, while it may still be sent to another agent. */
  private retry?: Buffer;
  private exclude?: AgentConnection;
  private chunked = false;
  private resCarry?: Buffer;
  private resBody?: BodyTracker;
  private responded = false;
  private finished = false;
  /** The whole request went to the agent. */
  private requestSent = false;
  /** The response leaves the service connection open for another request. */
  private keepAlive = false;
  private readonly toCaller = (content: Buffer) => {
    this.stream.write(content);
    if (this.stream.writableLength > maxBuffered) this.tunnel?.pause();
  };

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly headers: http2.IncomingHttpHeaders,
    private readonly sock: TLSSocket,
    private readonly deps: RelayDeps,
  ) {
    this.method = headers[':method'] ?? 'GET';
    stream.on('error', () => {});
    stream.once('close', () => this.onCallerClose());
    if (this.method === 'CONNECT') {
      this.fail({
        status: 400,
        code: 'INVALID_ARGUMENT',
        message: 'CONNECT is not forwarded; for WebSocket and other upgrades use HTTP/1.1',
      });
      return;
    }
    let target: ServiceTarget | Promise<ServiceTarget>;
    try {
      target = deps.auth.authenticateCaller(sock, headers.authorization);
    } catch (e) {
      this.fail(authFailure(e, deps.log));
      return;
    }
    if (target instanceof Promise) {
      stream.pause();
      target.then(
        (t) => {
          if (this.finished) return;
          stream.resume();
          this.start(t);
        },
        (e) => this.fail(authFailure(e, deps.log)),
      );
      return;
    }
    this.start(target);
  }

  private start(target: ServiceTarget) {
    this.target = target;
    const h = this.headers;
    const pairs: Array<[string, string]> = [];
    const authority = h[':authority'];
    if (authority && h.host === undefined) pairs.push(['host', authority]);
    for (const k in h) {
      if (k[0] === ':' || hopHeaders.has(k)) continue;
      const v = h[k];
      if (Array.isArray(v)) for (const one of v) pairs.push([k, one]);
      else if (v !== undefined) pairs.push([k, v]);
    }
    const noBody = this.stream.endAfterHeaders;
    // HTTP/2 needs no length; HTTP/1.1 does: a body without content-length goes chunked.
    this.chunked = !noBody && h['content-length'] === undefined;
    if (this.chunked) pairs.push(['transfer-encoding', 'chunked']);
    const text = requestHeadText(
      this.method,
      h[':path'] ?? '/',
      'HTTP/1.1',
      pairs,
      this.sock.remoteAddress ?? '',
      target,
    );
    const head = headFrame(text, noBody);
    if (noBody && idempotent.has(this.method)) this.retry = head;
    if (!this.open()) return;
    this.conn!.stats.requests++;
    this.stream.on('drain', () => this.tunnel?.resume());
    this.tunnel!.write(head);
    this.requestSent = noBody;
    if (noBody) {
      // Reading the (empty) request to its end lets Node close the stream normally; a server
      // stream never read is closed with a RST_STREAM, flushed on its own (a write per request).
      this.stream.resume();
      return;
    }
    this.stream.on('data', (c: Buffer) => this.onCallerData(c));
    this.stream.once('end', () => {
      if (this.chunked) this.toAgent(frame(frameBody, lastChunk));
      this.toAgent(frame(frameEnd));
      this.requestSent = true;
    });
  }

  private open(): boolean {
    const opened = openTunnelStream(this.deps.agents, this.target!, this.exclude);
    if ('status' in opened) {
      this.fail(opened);
      return false;
    }
    const { stream: tunnel, conn } = opened;
    this.tunnel = tunnel;
    this.conn = conn;
    tunnel.on('data', (c: Buffer) => this.onAgentData(tunnel, c));
    tunnel.once('end', () => {
      // A body that runs until the service closes ends here.
      if (tunnel === this.tunnel && this.responded && this.resBody?.kind === 'close') this.finish();
    });
    tunnel.once('close', () => this.onAgentClose(tunnel, conn));
    tunnel.on('drain', () => this.stream.resume());
    return true;
  }

  // ---- caller -> agent ----

  private onCallerData(c: Buffer) {
    if (this.chunked) {
      this.toAgent(frame(frameBody, Buffer.from(`${c.length.toString(16)}\r\n`)));
      this.toAgent(frame(frameBody, c));
      this.toAgent(frame(frameBody, crlf));
    } else this.toAgent(frame(frameBody, c));
  }

  private toAgent(bufs: Buffer[]) {
    const t = this.tunnel;
    if (!t || t.destroyed || t.writableEnded) return;
    for (const b of bufs) t.write(b);
    if (t.writableLength > maxBuffered) this.stream.pause();
  }

  // ---- agent -> caller ----

  private onAgentData(tunnel: http2.ClientHttp2Stream, chunk: Buffer) {
    if (tunnel !== this.tunnel || this.finished) return;
    this.retry = undefined;
    try {
      if (this.responded) this.body(chunk, 0);
      else this.head(chunk);
    } catch {
      this.fail({ status: 502, code: 'UNAVAILABLE', message: 'the service answered with malformed HTTP' });
    }
  }

  /** The response head (after any 1xx): becomes the HTTP/2 response headers. */
  private head(chunk: Buffer) {
    let b = this.resCarry ? Buffer.concat([this.resCarry, chunk]) : chunk;
    this.resCarry = undefined;
    let off = 0;
    for (;;) {
      const end = headEnd(b, off);
      if (end < 0) {
        b = b.subarray(off);
        if (b.length > maxHeadBytes) throw new Error('response head too large');
        this.resCarry = b;
        return;
      }
      const head = parseHead(b.toString('latin1', off, end - 4), false);
      off = end;
      const status = head.status!;
      if (status === 101) throw new Error('upgrade without a request for one');
      if (status < 200) continue;
      const out: http2.OutgoingHttpHeaders = { ':status': status };
      for (const [k, v] of head.headers) {
        if (hopHeaders.has(k)) continue;
        const prev = out[k];
        if (prev === undefined) out[k] = k === 'set-cookie' ? [v] : v;
        else if (Array.isArray(prev)) prev.push(v);
        else out[k] = `${prev}, ${v}`;
      }
      this.resBody = responseBody(head, this.method);
      this.keepAlive =
        this.resBody.kind !== 'close' && keepsConnection(head.version, header(head, 'connection'));
      this.stream.respond(out, { endStream: this.resBody.done });
      this.responded = true;
      if (this.resBody.done) this.finish();
      else this.body(b, off);
      return;
    }
  }

  private body(b: Buffer, off: number) {
    const body = this.resBody!;
    body.feed(b, off, this.toCaller);
    if (body.done) this.finish();
  }

  /** The response is complete: end the caller's stream and let the agent close the service connection. */
  private finish() {
    if (this.finished) return;
    this.finished = true;
    if (!this.stream.writableEnded && !this.stream.destroyed) this.stream.end();
    if (this.tunnel) closeTunnel(this.tunnel, this.keepAlive && this.requestSent);
  }

  private onAgentClose(tunnel: http2.ClientHttp2Stream, conn: AgentConnection) {
    if (tunnel !== this.tunnel || this.finished) return;
    this.tunnel = undefined;
    this.conn = undefined;
    const { lost, clean } = howClosed(tunnel, conn);
    if (!this.responded) {
      if (this.retry && (lost || clean)) {
        // Nothing was answered yet and nothing is lost by asking another connection of the agent.
        this.exclude = conn;
        const opened = this.open();
        this.exclude = undefined;
        if (opened) this.tunnel!.write(this.retry);
        return;
      }
      conn.stats.errors++;
      this.fail({
        status: 502,
        code: 'UNAVAILABLE',
        message: lost
          ? `lost the connection to agent "${this.target?.agent}"`
          : `agent "${this.target?.agent}" ended the request without a response`,
      });
      return;
    }
    // The agent went away in the middle of a response: the caller sees the stream reset.
    this.finished = true;
    this.stream.close(NGHTTP2_INTERNAL_ERROR);
  }

  private onCallerClose() {
    this.finished = true;
    if (this.tunnel) closeTunnel(this.tunnel);
  }

  /** Answers with an error if nothing was answered yet, else resets the stream. */
  private fail(f: Failure) {
    if (this.finished) return;
    this.finished = true;
    if (this.tunnel) closeTunnel(this.tunnel);
    if (this.stream.destroyed) return;
    if (this.responded || this.stream.headersSent) {
      this.stream.close(NGHTTP2_INTERNAL_ERROR);
      return;
    }
    this.stream.respond({ ':status': f.status, 'content-type': 'application/json', ...f.headers });
    this.stream.end(errorBody(f));
  }
}
