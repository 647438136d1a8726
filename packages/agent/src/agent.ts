// `skyway agent`: runs inside a private network, dials out to the controller
// and keeps one long-lived, reconnecting control channel. Over the TLS
// connection the agent is the HTTP/2 *server*: every caller connection is
// relayed on its own stream (see relay.ts), and the control service (Hello,
// stats, status) is served on the same connection.
import { EventEmitter } from 'node:events';
import * as http2 from 'node:http2';
import * as tls from 'node:tls';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { keepAlive } from '@skyway/tunnel/wire';
import pino, { type Logger } from 'pino';
import { backoffDelay } from './backoff.js';
import { controlRoutes, type StatusEventInit } from './control.js';
import { type AgentIdentity, type EnrollmentBundle, IdentityStore, renewAt } from './identity.js';
import { relay } from './relay.js';
import { Service, type ServiceConfig } from './services.js';
import { Stats } from './stats.js';

export const agentVersion = '0.1.0';
export const tunnelAlpn = 'skyway-tunnel/1';

export interface AgentOptions {
  /** Where the key, certificate and CA live (key mode 0600). */
  home: string;
  /** Used to enroll when `home` holds no identity yet. */
  bundle?: EnrollmentBundle;
  services: ServiceConfig[];
  annotations?: Record<string, string>;
  /** Ping interval; the connection is dropped after two intervals without an answer. */
  keepaliveMs?: number;
  backoff?: { baseMs?: number; maxMs?: number };
  logger?: Logger;
  /** Handles the controller's overlay messages (streams with the `skyway-overlay` header). */
  overlay?: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;
}

const h2Settings: http2.Settings = {
  initialWindowSize: 1 << 20,
  maxConcurrentStreams: 100_000,
  maxFrameSize: 1 << 16,
};

export class Agent extends EventEmitter {
  readonly services = new Map<string, Service>();
  readonly stats = new Stats();
  readonly log: Logger;
  private readonly store: IdentityStore;
  private identity?: AgentIdentity;
  private stopped = false;
  private socket?: tls.TLSSocket;
  private session?: http2.ServerHttp2Session;
  private readonly server: http2.Http2Server;
  private renewTimer?: NodeJS.Timeout;
  private wakeSleep?: () => void;
  private readonly status = new EventEmitter();
  private readonly keepaliveMs: number;
  /** Connections made so far (1 after the first). */
  connections = 0;

  constructor(private readonly opts: AgentOptions) {
    super();
    this.log = opts.logger ?? pino({ name: 'skyway-agent' });
    this.store = new IdentityStore(opts.home);
    this.keepaliveMs = opts.keepaliveMs ?? 5_000;
    for (const cfg of opts.services) {
      const svc = new Service(cfg);
      if (this.services.has(svc.key)) throw new Error(`service ${svc.key} is listed twice`);
      this.services.set(svc.key, svc);
    }
    const grpc = connectNodeAdapter({
      routes: controlRoutes({
        agent: () => this.identity?.agent ?? '',
        version: agentVersion,
        annotations: opts.annotations ?? {},
        services: this.services,
        stats: this.stats,
        certificateExpires: () => this.identity?.notAfter ?? 0,
        onStatus: (fn) => {
          this.status.on('event', fn);
          return () => this.status.off('event', fn);
        },
      }),
      grpc: true,
      connect: false,
      grpcWeb: false,
    });
    // Relayed caller connections take the raw stream; only control calls get the compatibility objects connect needs.
    this.server = http2.createServer({ settings: h2Settings, maxSessionMemory: 256 });
    this.server.on(
      'stream',
      (
        stream: http2.ServerHttp2Stream,
        headers: http2.IncomingHttpHeaders,
        _f: number,
        rawHeaders: string[],
      ) => {
        if (headers['skyway-overlay'] !== undefined && this.opts.overlay) {
          this.opts.overlay(stream, headers);
          return;
        }
        if (headers['skyway-relay'] !== undefined) {
          relay(stream, headers, this.services, this.stats, this.log);
          return;
        }
        const req = new http2.Http2ServerRequest(stream, headers, undefined as never, rawHeaders as never);
        const res = new http2.Http2ServerResponse(stream);
        grpc(req, res);
      },
    );
  }

  /** Reports a status event to the controller (if connected). */
  report(e: StatusEventInit) {
    this.status.emit('event', { ...e, timeMs: Date.now() });
  }

  get agentName() {
    return this.identity?.agent;
  }

  /** Enrolls if needed, then connects and reconnects until stop(). */
  async run(): Promise<void> {
    this.identity = await this.store.load();
    if (!this.identity) {
      if (!this.opts.bundle)
        throw new Error(
          `agent is not enrolled (no identity in ${this.opts.home}); give an enrollment bundle`,
        );
      this.identity = await this.store.enroll(this.opts.bundle);
      this.log.info({ agent: this.identity.agent }, 'enrolled');
      this.emit('enrolled', this.identity.agent);
    }
    this.scheduleRenewal();
    let attempt = 0;
    while (!this.stopped) {
      const started = Date.now();
      try {
        await this.connectOnce();
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'tunnel connection failed');
      }
      if (this.stopped) break;
      if (Date.now() - started > 10_000) attempt = 0;
      const delay = backoffDelay(attempt++, this.opts.backoff);
      this.log.info({ delayMs: delay }, 'reconnecting');
      await new Promise<void>((r) => {
        const t = setTimeout(r, delay);
        this.wakeSleep = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  private connectOnce(): Promise<void> {
    const id = this.identity!;
    const [host, port] = splitHostPort(id.controller);
    return new Promise<void>((resolve, reject) => {
      const sock = tls.connect({
        host,
        port,
        servername: id.serverName,
        ca: id.ca,
        cert: id.cert,
        key: id.key,
        ALPNProtocols: [tunnelAlpn],
      });
      this.socket = sock;
      const connectTimer = setTimeout(() => sock.destroy(new Error('connect timed out after 10s')), 10_000);
      sock.once('error', (e) => {
        clearTimeout(connectTimer);
        reject(e);
      });
      sock.once('close', () => {
        clearTimeout(connectTimer);
        resolve();
      });
      sock.once('secureConnect', () => {
        clearTimeout(connectTimer);
        if (sock.alpnProtocol !== tunnelAlpn) {
          sock.destroy(new Error('controller does not speak the tunnel protocol'));
          return;
        }
        sock.setNoDelay(true);
        sock.setKeepAlive(true, this.keepaliveMs);
        this.server.once('session', (s: http2.ServerHttp2Session) => this.onSession(s, sock));
        this.server.emit('connection', sock);
      });
    });
  }

  private onSession(session: http2.ServerHttp2Session, sock: tls.TLSSocket) {
    this.session = session;
    this.connections++;
    session.setLocalWindowSize(16 << 20);
    this.log.info({ controller: this.identity?.controller }, 'connected');
    this.emit('connected');
    keepAlive(session, this.keepaliveMs, (why) => {
      if (why === 'timeout') this.log.warn('controller stopped answering pings; reconnecting');
      session.destroy();
    });
    session.on('error', (e) => this.log.warn({ err: e.message }, 'tunnel session error'));
    session.once('close', () => {
      if (this.session === session) this.session = undefined;
      // This session's socket: by now this.socket may be the next connection's.
      sock.destroy();
      this.emit('disconnected');
    });
  }

  /** Renews two thirds into the certificate's life (or in `dueMs`); unref'd, so stop() lets the process exit. */
  private scheduleRenewal(dueMs?: number) {
    clearTimeout(this.renewTimer);
    if (this.stopped || !this.identity) return;
    const due = dueMs ?? Math.max(1_000, renewAt(this.identity) - Date.now());
    // A timer holds at most 2^31-1 ms (24.8 days): a later date is reached in steps.
    const step = Math.min(due, 2 ** 31 - 1);
    this.renewTimer = setTimeout(() => (step < due ? this.scheduleRenewal() : this.renew()), step);
    this.renewTimer.unref();
  }

  private async renew() {
    try {
      this.identity = await this.store.renew(this.identity!);
      this.log.info({ notAfter: new Date(this.identity.notAfter).toISOString() }, 'certificate renewed');
      this.emit('renewed', this.identity.notAfter);
      this.scheduleRenewal();
    } catch (e) {
      if (this.stopped) return;
      this.log.warn({ err: (e as Error).message }, 'certificate renewal failed; retrying in 30s');
      this.scheduleRenewal(30_000);
    }
  }

  get certificateNotAfter() {
    return this.identity?.notAfter;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.renewTimer);
    this.wakeSleep?.();
    this.session?.destroy();
    this.socket?.destroy();
    for (const s of this.services.values()) s.close();
  }
}

function splitHostPort(addr: string): [string, number] {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(addr);
  if (!m) throw new Error(`controller address must be host:port, got "${addr}"`);
  return [m[1]!, Number(m[2])];
}
