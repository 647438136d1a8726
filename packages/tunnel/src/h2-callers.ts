// HTTP/2 callers on the service port (offered by ALPN; kubectl and most
// HTTP/2 clients take it): every caller stream is one request, authenticated
// on its own and relayed over a tunnel stream of its own, so one connection
// carries many watches, to as many services as its streams' credentials
// allow. The agent still speaks HTTP/1.1 to the service, so the request goes
// out as an HTTP/1.1 head (a body of unknown length chunk-encoded) and the
// response's head and body are translated back into HTTP/2. After a complete
// response that leaves the service connection open, the tunnel stream waits
// in a pool for the next request to the same service over the same agent
// connection (opening a stream costs more than the request itself).
// WebSockets come as RFC 8441 extended CONNECT (`:protocol websocket`) and go
// to the service as an HTTP/1.1 upgrade; after it, bytes pass unchanged.
import { createHash, randomBytes } from 'node:crypto';
import * as http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import {
  authFailure,
  closeTunnel,
  errorBody,
  type Failure,
  howClosed,
  idempotent,
  keepsConnection,
  openTunnelStream,
  pickAgent,
  type RelayDeps,
  requestHeadText,
  revokedFailure,
} from './forward.js';
import { type BodyTracker, headEnd, header, maxHeadBytes, parseHead, responseBody } from './h1.js';
import { tunnelObserver } from './observer.js';
import { IdlePool } from './idle-pool.js';
import type { OpenRequest } from './open-requests.js';
import type { AgentConnection } from './registry.js';
import { frame, frameBody, frameEnd, headFrame, relayMaxBuffered as maxBuffered } from './relay-frames.js';
import type { ServiceTarget } from './service-auth.js';

const { NGHTTP2_INTERNAL_ERROR } = http2.constants;

/**
 * Resets a stream at once (RST_STREAM, INTERNAL_ERROR). `stream.close(code)` would first end it
 * cleanly (END_STREAM) once the writes queued are out: a cut response would look complete.
 */
const reset = (stream: http2.ServerHttp2Stream, why: string) => stream.destroy(new Error(why));

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
/** The Sec-WebSocket-Accept a service must answer to `key` (RFC 6455, 4.2.2). */
const websocketAccept = (key: string) =>
  createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');

interface CallerSession {
  sock: TLSSocket;
  streams: number;
  /** Runs until the first request arrives: a connection that sends none is closed. */
  firstRequest?: NodeJS.Timeout;
}

/** The HTTP/2 side of the service port: `accept` takes a caller's TLS socket that chose "h2". */
export function http2Callers(deps: RelayDeps) {
  const server = http2.createServer({
    settings: { maxConcurrentStreams: 4096, initialWindowSize: 256 * 1024, enableConnectProtocol: true },
    maxSessionMemory: 64,
  });
  const sessions = new WeakMap<http2.Http2Session, CallerSession>();
  const pipes = new PipePool();
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    const cs = sessions.get(stream.session!);
    if (!cs) {
      stream.close(NGHTTP2_INTERNAL_ERROR);
      return;
    }
    clearTimeout(cs.firstRequest);
    cs.streams++;
    stream.once('close', () => cs.streams--);
    new CallerStream(stream, headers, cs.sock, deps, pipes);
  });
  return {
    accept(sock: TLSSocket) {
      sock.setNoDelay(true);
      server.once('session', (session: http2.ServerHttp2Session) => {
        const cs: CallerSession = { sock, streams: 0 };
        cs.firstRequest = setTimeout(() => {
          session.destroy();
          sock.destroy();
        }, deps.headMs);
        cs.firstRequest.unref();
        session.once('close', () => clearTimeout(cs.firstRequest));
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

/** A tunnel stream and its agent connection; `owner` is the request using it, none while it waits. */
class Pipe {
  owner?: CallerStream;

  constructor(
    readonly conn: AgentConnection,
    readonly stream: http2.ClientHttp2Stream,
    readonly key: string,
    pool: PipePool,
  ) {
    conn.stats.active++;
    // Anything from the agent while no request is using the stream means its service connection is done.
    stream.on('data', (c: Buffer) => (this.owner ? this.owner.onAgentData(this, c) : pool.drop(this)));
    stream.once('end', () => (this.owner ? this.owner.onAgentEnd(this) : pool.drop(this)));
    stream.once('close', () => {
      if (this.owner) {
        conn.stats.active--;
        this.owner.onAgentClose(this);
      } else pool.drop(this);
    });
    stream.on('drain', () => this.owner?.onTunnelDrain());
  }

  get usable() {
    const s = this.stream;
    return !s.closed && !s.destroyed && !s.writableEnded && !s.readableEnded && !this.conn.session.closed;
  }
}

/** Tunnel streams between requests, by agent connection and service. */
class PipePool {
  private readonly idle = new IdlePool<Pipe>({
    // Below the usual keep-alive timeouts of services (Node's is 5 s).
    idleMs: 4_000,
    maxPerKey: 256,
    usable: (p) => p.usable,
    discard: (p) => closeTunnel(p.stream),
  });

  /** A waiting stream to `t` on `conn`, or a new one. */
  take(conn: AgentConnection, t: ServiceTarget): Pipe | Failure {
    const key = `${conn.id}\n${t.key}`;
    const waiting = this.idle.take(key);
    if (waiting) {
      conn.stats.active++;
      return waiting;
    }
    const stream = openTunnelStream(conn, t);
    return 'status' in stream ? stream : new Pipe(conn, stream, key, this);
  }

  /** The request using `p` is complete and its service connection stays open: keep `p` for the next one. */
  put(p: Pipe) {
    p.owner = undefined;
    p.conn.stats.active--;
    if (!this.idle.put(p.key, p)) closeTunnel(p.stream, true);
    else p.stream.resume();
  }

  drop(p: Pipe) {
    this.idle.remove(p.key, p);
    closeTunnel(p.stream);
  }
}

class CallerStream implements OpenRequest {
  private readonly method: string;
  /** An RFC 8441 WebSocket: relayed as an HTTP/1.1 upgrade with a key of our own. */
  private readonly websocketKey?: string;
  /** Upgraded: bytes pass unchanged both ways. */
  private raw = false;
  private target?: ServiceTarget;
  private pipe?: Pipe;
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
    if (this.stream.writableLength > maxBuffered) this.pipe?.stream.pause();
  };

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly headers: http2.IncomingHttpHeaders,
    private readonly sock: TLSSocket,
    private readonly deps: RelayDeps,
    private readonly pipes: PipePool,
  ) {
    this.method = headers[':method'] ?? 'GET';
    stream.on('error', () => {});
    stream.once('close', () => this.onCallerClose());
    if (this.method === 'CONNECT') {
      if (headers[':protocol'] !== 'websocket') {
        this.fail({
          status: 400,
          code: 'INVALID_ARGUMENT',
          message: 'CONNECT is forwarded only for WebSockets (:protocol websocket, RFC 8441)',
        });
        return;
      }
      this.websocketKey = randomBytes(16).toString('base64');
    }
    let target: ServiceTarget | Promise<ServiceTarget>;
    try {
      target = deps.auth.authenticateCaller(sock, headers.authorization);
    } catch (e) {
      this.fail(authFailure(e, deps));
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
        (e) => this.fail(authFailure(e, deps)),
      );
      return;
    }
    this.start(target);
  }

  private start(target: ServiceTarget) {
    this.target = target;
    this.deps.open.add(target.credential, this);
    const h = this.headers;
    const pairs: Array<[string, string]> = [];
    const authority = h[':authority'];
    if (authority && h.host === undefined) pairs.push(['host', authority]);
    for (const k in h) {
      if (k[0] === ':' || hopHeaders.has(k) || k === 'sec-websocket-key') continue;
      const v = h[k];
      if (Array.isArray(v)) for (const one of v) pairs.push([k, one]);
      else if (v !== undefined) pairs.push([k, v]);
    }
    const noBody = this.stream.endAfterHeaders;
    const ws = this.websocketKey;
    if (ws) pairs.push(['connection', 'Upgrade'], ['upgrade', 'websocket'], ['sec-websocket-key', ws]);
    // HTTP/2 needs no length; HTTP/1.1 does: a body without content-length goes chunked.
    this.chunked = !ws && !noBody && h['content-length'] === undefined;
    if (this.chunked) pairs.push(['transfer-encoding', 'chunked']);
    const text = requestHeadText(
      ws ? 'GET' : this.method,
      h[':path'] ?? '/',
      'HTTP/1.1',
      pairs,
      this.sock.remoteAddress ?? '',
      target,
    );
    const head = headFrame(text, noBody);
    if (noBody && idempotent.has(this.method)) this.retry = head;
    if (!this.open()) return;
    this.stream.on('drain', () => this.pipe?.stream.resume());
    this.pipe!.stream.write(head);
    this.requestSent = noBody;
    // (An empty request body is left unread: reading it costs Node an error object per stream.)
    if (noBody) return;
    // A WebSocket's bytes wait (flow control holds them at the caller) until the service accepts:
    // sent before, they would reach a service that answers normally as requests of their own.
    if (ws) this.stream.pause();
    else this.readCaller();
  }

  private readCaller() {
    const ws = this.websocketKey;
    this.stream.on('data', (c: Buffer) => this.onCallerData(c));
    this.stream.once('end', () => {
      // A WebSocket caller's end is the service's end of input.
      if (ws) return this.pipe?.stream.end();
      if (this.chunked) this.toAgent(frame(frameBody, lastChunk));
      this.toAgent(frame(frameEnd));
      this.requestSent = true;
    });
    if (ws) this.stream.resume();
  }

  private open(): boolean {
    const conn = pickAgent(this.deps.agents, this.target!, this.exclude);
    const pipe = 'status' in conn ? conn : this.pipes.take(conn, this.target!);
    if ('status' in pipe) {
      this.fail(pipe);
      return false;
    }
    pipe.owner = this;
    pipe.conn.stats.requests++;
    tunnelObserver.current?.request(pipe.conn.agent, this.target!.key);
    this.pipe = pipe;
    return true;
  }

  onTunnelDrain() {
    this.stream.resume();
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
    const t = this.pipe?.stream;
    if (!t || t.destroyed || t.writableEnded) return;
    for (const b of bufs) t.write(b);
    if (t.writableLength > maxBuffered) this.stream.pause();
  }

  // ---- agent -> caller ----

  onAgentData(pipe: Pipe, chunk: Buffer) {
    if (pipe !== this.pipe || this.finished) return;
    this.retry = undefined;
    if (this.raw) return this.toCaller(chunk);
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
      const upgraded = status === 101 && this.websocketKey !== undefined;
      if (status === 101 && !upgraded) throw new Error('upgrade without a request for one');
      if (status < 200 && !upgraded) continue;
      if (upgraded && header(head, 'sec-websocket-accept') !== websocketAccept(this.websocketKey!)) {
        this.fail({
          status: 502,
          code: 'UNAVAILABLE',
          message: 'the service answered the WebSocket upgrade without a valid sec-websocket-accept',
        });
        return;
      }
      // RFC 8441: a WebSocket is accepted with a 200 and no accept key.
      const out: http2.OutgoingHttpHeaders = { ':status': upgraded ? 200 : status };
      for (const [k, v] of head.headers) {
        if (hopHeaders.has(k) || k === 'sec-websocket-accept') continue;
        const prev = out[k];
        if (prev === undefined) out[k] = k === 'set-cookie' ? [v] : v;
        else if (Array.isArray(prev)) prev.push(v);
        else out[k] = `${prev}, ${v}`;
      }
      if (upgraded) {
        this.stream.respond(out);
        this.responded = true;
        this.raw = true;
        if (off < b.length) this.toCaller(b.subarray(off));
        this.readCaller();
        return;
      }
      if (this.websocketKey && status < 300) {
        // A 2xx to extended CONNECT opens the WebSocket (RFC 8441, 5): a service that ignored the
        // upgrade and answered normally must not look as if it accepted.
        this.fail({
          status: 502,
          code: 'UNAVAILABLE',
          message: `the service answered the WebSocket upgrade with ${status}, not 101 Switching Protocols`,
        });
        return;
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

  /** The response is complete: end the caller's stream; the tunnel stream goes back to the pool if it can. */
  private finish() {
    if (this.finished) return;
    this.finished = true;
    if (!this.stream.writableEnded && !this.stream.destroyed) this.stream.end();
    this.release(this.keepAlive && this.requestSent);
  }

  /** Lets go of the tunnel stream: kept for the next request if its service connection may serve again, else closed. */
  private release(reuse: boolean) {
    const p = this.pipe;
    if (!p) return;
    this.pipe = undefined;
    if (reuse) this.pipes.put(p);
    else closeTunnel(p.stream);
  }

  /** The agent ended its side of the stream. */
  onAgentEnd(pipe: Pipe) {
    if (pipe !== this.pipe || this.finished) return;
    if (this.responded && (this.raw || this.resBody?.kind === 'close')) this.finish();
    else if (!this.responded) this.noAnswer(pipe, false);
    else this.cut();
  }

  /** The tunnel stream closed under the request. */
  onAgentClose(pipe: Pipe) {
    if (pipe !== this.pipe || this.finished) return;
    this.pipe = undefined;
    const { lost } = howClosed(pipe.stream, pipe.conn);
    if (!this.responded) this.noAnswer(pipe, lost);
    else this.cut();
  }

  /** The stream ended before a response: ask again once if that loses nothing, else answer 502. */
  private noAnswer(pipe: Pipe, lost: boolean) {
    this.release(false);
    const retry = this.retry;
    this.retry = undefined;
    if (retry) {
      // A stream kept from an earlier request may find its service connection just closed;
      // a lost agent connection is avoided.
      this.exclude = lost ? pipe.conn : undefined;
      const opened = this.open();
      this.exclude = undefined;
      if (opened) this.pipe!.stream.write(retry);
      return;
    }
    pipe.conn.stats.errors++;
    tunnelObserver.current?.relayError(pipe.conn.agent, this.target?.key ?? '');
    this.fail({
      status: 502,
      code: 'UNAVAILABLE',
      message: lost
        ? `lost the connection to agent "${this.target?.agent}"`
        : `agent "${this.target?.agent}" ended the request without a response`,
    });
  }

  /** The agent went away in the middle of a response: the caller sees the stream reset. */
  private cut() {
    this.finished = true;
    this.release(false);
    reset(this.stream, 'the agent went away in the middle of the response');
  }

  /** The credential was revoked: answered 401 if nothing was answered yet, else the stream is reset. */
  revoked() {
    this.fail(revokedFailure(this.deps.statusOf));
  }

  private onCallerClose() {
    if (this.target) this.deps.open.delete(this.target.credential, this);
    this.finished = true;
    this.release(false);
  }

  /** Answers with an error if nothing was answered yet, else resets the stream. */
  private fail(f: Failure) {
    if (this.finished) return;
    this.finished = true;
    this.release(false);
    if (this.stream.destroyed) return;
    if (this.responded || this.stream.headersSent) {
      reset(this.stream, f.message);
      return;
    }
    this.stream.respond({ ':status': f.status, 'content-type': 'application/json', ...f.headers });
    this.stream.end(errorBody(f));
  }
}
