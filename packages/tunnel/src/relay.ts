// The service port's hot path: each caller connection is relayed over one
// HTTP/2 stream to an agent (its own flow-controlled stream, so a slow caller
// stalls only itself). Request heads are parsed here to authenticate every
// request and to drop the caller's credentials; bodies and responses pass
// through byte for byte, so chunks flow as they are written and WebSocket
// upgrades just work. Response boundaries are followed (not changed) so that
// a lost agent can be answered with a 502 or the request retried elsewhere.
import type { ClientHttp2Stream } from 'node:http2';
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
  reasons,
  requestHeadText,
  revokedFailure,
} from './forward.js';
import {
  type BodyTracker,
  type Head,
  HttpParseError,
  headEnd,
  header,
  maxHeadBytes,
  parseHead,
  requestBody,
  responseBody,
} from './h1.js';
import { tunnelObserver } from './observer.js';
import type { OpenRequest } from './open-requests.js';
import type { AgentConnection } from './registry.js';
import { frame, frameBody, frameEnd, headFrame, relayMaxBuffered as maxBuffered } from './relay-frames.js';
import type { ServiceTarget } from './service-auth.js';

/** How long an error answer may take to be read before the connection is dropped. */
const closeGraceMs = 5_000;

/** A chunk this large is written on its own. */
const bulkChunk = 16 * 1024;

function uncork(c: CallerConnection) {
  c.uncork();
}

/**
 * Keep-alive connections with nothing in flight are closed after two minutes
 * without traffic. One sweep for all connections (a timer per socket costs
 * memory on every idle connection and a timer update on every read and write):
 * a connection notes the sweep round it last saw traffic in.
 */
const sweepMs = 30_000;
const idleRounds = 4;
let round = 0;
const live = new Set<CallerConnection>();
let sweeper: NodeJS.Timeout | undefined;

function sweep() {
  round++;
  for (const c of live) c.sweep(round);
}

function register(c: CallerConnection) {
  live.add(c);
  if (!sweeper) {
    sweeper = setInterval(sweep, sweepMs);
    sweeper.unref();
  }
}

function unregister(c: CallerConnection) {
  live.delete(c);
  if (live.size === 0 && sweeper) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

export class CallerConnection implements OpenRequest {
  /** Caller bytes not processed yet: an incomplete head, or all that came while `verifying`. */
  private carry?: Buffer;
  /** A token is being verified: the caller's bytes wait in `carry`. */
  private verifying = false;
  private reqBody?: BodyTracker;
  /**
   * An upgrade was asked for and its answer has not come: the caller's further bytes wait in
   * `carry`. Relayed raw before the service accepts, they would reach a service that answers
   * normally as requests that skipped authentication, the Host rewrite and the agent's checks.
   */
  private upgrading = false;
  /** After the service switched protocols (101), the caller's bytes are relayed as they are. */
  private raw = false;
  /**
   * Once the answers owed are written the connection closes, the caller's further bytes
   * ignored: with this error for a request refused meanwhile (answers go in request order),
   * or with none ('end') after an upgrade the service refused (the caller's next bytes are
   * HTTP again, which raw relaying would hand the service unchecked, credentials and all).
   */
  private closeWhenAnswered?: Failure | 'end';
  private target?: ServiceTarget;
  /** The credentials requests on this connection came with (for revocation). */
  private readonly credentials: string[] = [];
  private conn?: AgentConnection;
  private stream?: ClientHttp2Stream;
  private exclude?: AgentConnection;
  private closing = false;
  private readonly forwardedFor: string;
  // Response side: methods of requests still waiting for their final response.
  private readonly pending: string[] = [];
  private resCarry?: Buffer;
  private resBody?: BodyTracker;
  private resRaw = false;
  private responseStarted = false;
  /** The last response left the service connection open for another request. */
  private keepAlive = false;
  /** The in-flight request, kept while it may be re-sent to another agent. */
  private retry?: { head: Buffer; method: string };
  private corked = false;
  /** The sweep round of the last traffic. */
  private seen = round;
  /**
   * Runs while a request head is awaited: from the connection's start, and from the first byte
   * of each later head. Every byte resets the idle sweep; this deadline is not reset.
   */
  private headTimer?: NodeJS.Timeout;

  constructor(
    private readonly sock: TLSSocket,
    private readonly deps: RelayDeps,
  ) {
    this.forwardedFor = sock.remoteAddress ?? '';
    sock.setNoDelay(true);
    sock.on('data', (c: Buffer) => this.onCallerData(c));
    sock.on('close', () => this.onCallerClose());
    sock.on('error', () => {});
    sock.on('drain', () => this.stream?.resume());
    register(this);
    this.awaitHead();
  }

  private awaitHead() {
    if (this.headTimer || this.closing) return;
    this.headTimer = setTimeout(() => this.headTimedOut(), this.deps.headMs);
    this.headTimer.unref();
  }

  private headDone() {
    clearTimeout(this.headTimer);
    this.headTimer = undefined;
  }

  private headTimedOut() {
    this.headTimer = undefined;
    if (this.closing) return;
    // An answer owed before ours would be taken for the 408: cut the connection instead.
    if (this.pending.length > 0) {
      this.closing = true;
      this.sock.destroy();
      if (this.stream) closeTunnel(this.stream);
      return;
    }
    const s = Math.round(this.deps.headMs / 1000);
    this.fail({
      status: 408,
      code: 'INVALID_ARGUMENT',
      message: `the request head did not arrive within ${s}s`,
    });
  }

  /** Called by the idle sweep. */
  sweep(now: number) {
    if (now - this.seen >= idleRounds && this.idle()) this.sock.end();
  }

  /** A request is waiting and nothing of its answer was written: an error answer can still take its place. */
  private unanswered() {
    return this.pending.length > 0 && !this.responseStarted && !this.resBody && !this.resRaw;
  }

  private idle() {
    return (
      this.pending.length === 0 &&
      !this.resBody &&
      !this.resRaw &&
      !this.reqBody &&
      !this.raw &&
      !this.upgrading
    );
  }

  // ---- caller -> agent ----

  private onCallerData(chunk: Buffer) {
    if (this.closing || this.closeWhenAnswered) return;
    this.seen = round;
    if (this.verifying) {
      // Resumed meanwhile (a 'drain' of the previous stream): these bytes follow the head being verified.
      this.carry = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
      this.sock.pause();
      return;
    }
    const b = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = undefined;
    this.process(b, 0);
  }

  private process(b: Buffer, start: number) {
    let off = start;
    while (off < b.length && !this.closing) {
      if (this.raw) {
        this.send(frameBody, b.subarray(off));
        return;
      }
      if (this.reqBody) {
        let n: number;
        try {
          n = this.reqBody.feed(b, off);
        } catch {
          // An answer is owed before ours, or is being written: a 400 now would be taken for it.
          if (this.pending.length > 1 || this.responseStarted) this.sock.destroy();
          else
            this.fail({ status: 400, code: 'INVALID_ARGUMENT', message: 'malformed request body framing' });
          return;
        }
        if (n > 0) this.send(frameBody, b.subarray(off, off + n));
        off += n;
        if (this.reqBody.done) {
          this.reqBody = undefined;
          this.send(frameEnd);
        }
        continue;
      }
      if (this.upgrading) {
        // Held until the service answers the upgrade (at most what came before the socket paused).
        this.carry = b.subarray(off);
        this.sock.pause();
        return;
      }
      let end: number;
      try {
        end = headEnd(b, off);
      } catch {
        this.refuse({ status: 400, code: 'INVALID_ARGUMENT', message: 'malformed request head (bare LF)' });
        return;
      }
      if (end < 0) {
        this.awaitHead();
        if (b.length - off > maxHeadBytes)
          this.refuse({
            status: 431,
            code: 'INVALID_ARGUMENT',
            message: 'request head is larger than 64 KiB',
          });
        else this.carry = b.subarray(off);
        return;
      }
      this.headDone();
      let head: Head;
      try {
        head = parseHead(b.toString('latin1', off, end - 4), true);
      } catch {
        this.refuse({ status: 400, code: 'INVALID_ARGUMENT', message: 'malformed request head' });
        return;
      }
      off = end;
      let target: ServiceTarget | Promise<ServiceTarget>;
      try {
        target = this.deps.auth.authenticateCaller(this.sock, header(head, 'authorization'));
      } catch (e) {
        this.failAuth(e);
        return;
      }
      if (target instanceof Promise) {
        // Not seen recently: verify, holding the caller's further bytes meanwhile.
        this.sock.pause();
        this.verifying = true;
        if (off < b.length) this.carry = b.subarray(off);
        target.then(
          (t) => {
            this.verifying = false;
            if (this.closing) return;
            this.sock.resume();
            const rest = this.carry;
            this.carry = undefined;
            if (this.startRequest(head, t) && rest) this.process(rest, 0);
          },
          (e) => {
            this.verifying = false;
            this.failAuth(e);
          },
        );
        return;
      }
      if (!this.startRequest(head, target)) return;
    }
  }

  private startRequest(head: Head, target: ServiceTarget): boolean {
    if (this.target && (this.target.agent !== target.agent || this.target.key !== target.key)) {
      this.refuse({
        status: 421,
        code: 'INVALID_ARGUMENT',
        message: 'one connection reaches one agent service; open another connection',
      });
      return false;
    }
    // Every credential used here stays registered while the connection lives: a request made with
    // an earlier one may still be answering (a watch) when the next arrives.
    if (this.target?.credential !== target.credential && !this.credentials.includes(target.credential)) {
      this.credentials.push(target.credential);
      this.deps.open.add(target.credential, this);
    }
    this.target = target;
    let body: BodyTracker;
    try {
      body = requestBody(head);
    } catch {
      this.fail({
        status: 400,
        code: 'INVALID_ARGUMENT',
        message: 'malformed content-length or transfer-encoding',
      });
      return false;
    }
    const connection = header(head, 'connection') ?? '';
    const upgrade = header(head, 'upgrade') !== undefined && /upgrade/i.test(connection);
    const text = requestHeadText(
      head.method!,
      head.target!,
      head.version,
      head.headers,
      this.forwardedFor,
      target,
    );
    // One write (one DATA frame) for a request without a body: HEAD and END together.
    const headBytes = headFrame(text, body.done && !upgrade);
    // Only a request with nothing before it in flight may be re-sent: the retry re-sends just
    // that one, and the caller would take its answer for the earlier request's.
    this.retry =
      this.pending.length === 0 && body.done && !upgrade && idempotent.has(head.method!)
        ? { head: headBytes, method: head.method! }
        : undefined;
    if (this.pending.length === 0) this.responseStarted = false;
    this.pending.push(head.method!);
    if (!this.stream && !this.openStream()) return false;
    this.conn!.stats.requests++;
    tunnelObserver.current?.request(this.target!.agent, this.target!.key);
    this.write(headBytes);
    if (upgrade) this.upgrading = true;
    if (!body.done) this.reqBody = body;
    return true;
  }

  private openStream(): boolean {
    const conn = pickAgent(this.deps.agents, this.target!, this.exclude);
    if ('status' in conn) {
      this.fail(conn);
      return false;
    }
    const stream = openTunnelStream(conn, this.target!);
    if ('status' in stream) {
      this.fail(stream);
      return false;
    }
    conn.stats.active++;
    stream.once('close', () => conn.stats.active--);
    this.stream = stream;
    this.conn = conn;
    stream.on('data', (c: Buffer) => this.onAgentData(stream, c));
    stream.on('end', () => {
      // The service closed its connection: after a complete (or close-delimited) response, so does the caller's.
      if (stream !== this.stream) return;
      if (this.idle() || this.resBody?.kind === 'close' || this.resRaw) this.sock.end();
      // Else a request is left without (the rest of) its answer: end our side too, so that the
      // stream closes and onAgentClose retries, answers 502 or cuts the caller off.
      else closeTunnel(stream);
    });
    stream.on('drain', () => this.sock.resume());
    stream.on('close', () => this.onAgentClose(stream, conn));
    return true;
  }

  private send(type: number, payload?: Buffer) {
    if (!this.stream) return;
    for (const b of frame(type, payload)) this.write(b);
  }

  private write(b: Buffer) {
    if (this.stream) {
      this.stream.write(b);
      if (this.stream.writableLength > maxBuffered) this.sock.pause();
    }
  }

  // ---- agent -> caller ----

  private onAgentData(stream: ClientHttp2Stream, chunk: Buffer) {
    if (stream !== this.stream || this.closing) return;
    this.seen = round;
    this.responseStarted = true;
    this.retry = undefined;
    if (!this.resRaw) this.track(chunk);
    const switched = this.resRaw && this.upgrading;
    // Small chunks that arrive in the same tick go out in one TLS write; the next tick flushes
    // them. A response that ends in this chunk (the common small one) is written at once, and so
    // is a full-size chunk of a bulk transfer (Node copies corked writes into one new buffer).
    if (!this.corked && !this.idle() && chunk.length < bulkChunk) {
      this.corked = true;
      this.sock.cork();
      process.nextTick(uncork, this);
    }
    this.sock.write(chunk);
    if (this.closeWhenAnswered && this.pending.length === 0) {
      const f = this.closeWhenAnswered;
      if (f !== 'end') return this.fail(f);
      this.closing = true;
      this.sock.end();
      closeTunnel(stream);
      return;
    }
    if (switched) {
      // The service accepted the upgrade: what the caller sent meanwhile goes out, then everything raw.
      this.upgrading = false;
      this.raw = true;
      const held = this.carry;
      this.carry = undefined;
      if (held) this.send(frameBody, held);
      this.sock.resume();
    }
    if (this.sock.writableLength > maxBuffered) stream.pause();
  }

  uncork() {
    this.corked = false;
    this.sock.uncork();
  }

  /** Follows response boundaries (without changing a byte). */
  private track(chunk: Buffer) {
    let b = chunk;
    let off = 0;
    try {
      while (off < b.length && !this.resRaw) {
        if (this.resBody) {
          off += this.resBody.feed(b, off);
          if (this.resBody.done) {
            this.resBody = undefined;
            this.pending.shift();
            this.responseStarted = false;
          }
          continue;
        }
        if (this.resCarry) {
          b = Buffer.concat([this.resCarry, b.subarray(off)]);
          off = 0;
          this.resCarry = undefined;
        }
        const end = headEnd(b, off);
        if (end < 0) {
          this.resCarry = b.subarray(off);
          if (this.resCarry.length > maxHeadBytes) this.resRaw = true;
          return;
        }
        const head = parseHead(b.toString('latin1', off, end - 4), false);
        off = end;
        if (head.status === 101 && this.upgrading && this.pending.length === 1) {
          this.resRaw = true;
          return;
        }
        if (head.status === 101) throw new HttpParseError('switching protocols without a request for it');
        if (head.status! < 200) continue;
        // The final answer to the upgrade request (the last one sent) is not a 101: the caller's
        // next bytes were meant for another protocol, or are requests that skipped our checks.
        if (this.upgrading && this.pending.length === 1) this.closeWhenAnswered ??= 'end';
        const body = responseBody(head, this.pending[0]);
        this.keepAlive = body.kind !== 'close' && keepsConnection(head.version, header(head, 'connection'));
        if (body.done) {
          this.pending.shift();
          this.responseStarted = false;
        } else this.resBody = body;
      }
    } catch {
      // Not HTTP we understand: relay the rest as it is.
      this.resRaw = true;
    }
  }

  private onAgentClose(stream: ClientHttp2Stream, conn: AgentConnection) {
    if (stream !== this.stream) return;
    this.stream = undefined;
    this.conn = undefined;
    if (this.closing) return;
    const { lost, clean } = howClosed(stream, conn);
    if (this.idle()) {
      // Nothing in flight: the next request opens a stream to whichever agent is there (the
      // caller may still be paused for the old stream's back-pressure).
      if (clean) this.sock.end();
      else this.sock.resume();
      return;
    }
    if (this.unanswered()) {
      const retry = this.retry;
      if (retry && (lost || clean)) {
        // Once only; a lost connection is avoided, but a clean end (the service closed a kept
        // connection as the request arrived) is asked again on any connection, the same one too.
        this.retry = undefined;
        this.exclude = lost ? conn : undefined;
        this.pending.length = 0;
        this.pending.push(retry.method);
        this.responseStarted = false;
        const opened = this.openStream();
        this.exclude = undefined;
        if (opened) this.write(retry.head);
        return;
      }
      conn.stats.errors++;
      tunnelObserver.current?.relayError(conn.agent, this.target?.key ?? '');
      this.fail({
        status: 502,
        code: 'UNAVAILABLE',
        message: lost
          ? `lost the connection to agent "${this.target?.agent}"`
          : `agent "${this.target?.agent}" ended the request without a response`,
      });
      return;
    }
    // The agent went away in the middle of a response: the caller sees the connection cut.
    this.sock.destroy();
  }

  /** A credential used here was revoked: a request still waiting is answered 401, an answer under way is cut. */
  revoked() {
    if (this.closing) return;
    if (this.unanswered()) return this.fail(revokedFailure(this.deps.statusOf));
    this.sock.destroy();
  }

  private onCallerClose() {
    this.headDone();
    unregister(this);
    for (const c of this.credentials) this.deps.open.delete(c, this);
    this.closing = true;
    if (this.stream) closeTunnel(this.stream, this.keepAlive && this.idle());
  }

  // ---- errors ----

  private failAuth(e: unknown) {
    this.refuse(authFailure(e, this.deps));
  }

  /**
   * Answers a request that is not relayed. Answers go out in request order: while earlier
   * (pipelined) requests are still owed theirs, the caller's further bytes are ignored and the
   * error follows the last of them.
   */
  private refuse(f: Failure) {
    if (this.pending.length === 0 || !this.stream) return this.fail(f);
    this.closeWhenAnswered = f;
    this.sock.pause();
  }

  /** Answers the current request with an error and closes the connection. */
  private fail(f: Failure) {
    if (this.closing) return;
    this.closing = true;
    const body = errorBody(f);
    let extra = '';
    for (const [k, v] of Object.entries(f.headers ?? {})) extra += `${k}: ${v}\r\n`;
    this.sock.end(
      `HTTP/1.1 ${f.status} ${reasons[f.status] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`,
    );
    // A caller that neither reads the answer nor closes its side is not waited for.
    setTimeout(() => this.sock.destroy(), closeGraceMs).unref();
    if (this.stream) closeTunnel(this.stream);
  }
}
