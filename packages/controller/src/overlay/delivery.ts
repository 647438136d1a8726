// Hands each site's document to its agent over the agent's control channel
// (a stream on its reversed HTTP/2 connection, marked `skyway-overlay`) and
// records what the agent reports: the version it applied and each tunnel's
// state. A document not yet applied is sent again until it is; one applied
// is only asked about. A reconnecting agent gets the latest version at once.
import type { ClientHttp2Session } from 'node:http2';
import type { Logger } from 'pino';
import type { OverlayService, SiteDocument, TunnelReport } from './service.js';

export interface AgentLinks {
  connections(agent: string): Array<{ session: ClientHttp2Session }>;
  on(fn: (e: { type: 'connected' | 'disconnected'; conn: { agent: string } }) => void): () => void;
}

export interface SiteReport {
  overlay: string;
  site: string;
  appliedVersion: number;
  tunnels: Record<string, TunnelReport>;
}

type Request = { op: 'apply'; doc: SiteDocument } | { op: 'status'; overlay: string; site: string };

/** One overlay message to an agent; the answer is its JSON report. */
export function sendOverlayMessage(
  session: ClientHttp2Session,
  body: Request,
  timeoutMs = 60_000,
): Promise<SiteReport> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': '/skyway.overlay/v1',
      'skyway-overlay': body.op,
      'content-type': 'application/json',
    });
    const chunks: Buffer[] = [];
    let status = 0;
    const timer = setTimeout(() => stream.close(), timeoutMs);
    stream.on('response', (h) => {
      status = Number(h[':status']);
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    stream.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      if (status === 200) resolve(JSON.parse(text) as SiteReport);
      else
        reject(
          new Error(status ? `agent answered ${status}: ${text.slice(0, 300)}` : 'no answer from the agent'),
        );
    });
    stream.end(JSON.stringify(body));
  });
}

export class OverlayDelivery {
  private timer?: NodeJS.Timeout;
  private off?: () => void;
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();

  constructor(
    private readonly overlays: OverlayService,
    private readonly agents: AgentLinks,
    private readonly opts: { intervalMs?: number; renewEveryMs?: number; log?: Logger } = {},
  ) {}

  start(): void {
    this.overlays.onDocuments = () => this.syncAll();
    this.off = this.agents.on((e) => {
      if (e.type === 'connected') this.sync(e.conn.agent);
    });
    let ticks = 0;
    const every = this.opts.intervalMs ?? 2_000;
    const renewEvery = Math.max(1, Math.round((this.opts.renewEveryMs ?? 60_000) / every));
    this.timer = setInterval(() => {
      if (++ticks % renewEvery === 0)
        this.overlays.renewDue().catch((e) => this.opts.log?.warn({ err: e }, 'renewal failed'));
      this.syncAll();
    }, every);
    this.timer.unref();
    this.syncAll();
  }

  stop(): void {
    clearInterval(this.timer);
    this.off?.();
    this.overlays.onDocuments = undefined;
  }

  private syncAll(): void {
    this.overlays.agentsWithDocuments().then(
      (names) => {
        for (const n of names) this.sync(n);
      },
      (e) => this.opts.log?.warn({ err: e }, 'overlay delivery failed'),
    );
  }

  /** Syncs one agent; a call while one runs makes it run once more afterwards. */
  sync(agent: string): Promise<void> {
    const busy = this.running.get(agent);
    if (busy) {
      this.again.add(agent);
      return busy;
    }
    const run = this.syncOnce(agent)
      .catch((e) => this.opts.log?.warn({ agent, err: (e as Error).message }, 'overlay delivery failed'))
      .finally(() => {
        this.running.delete(agent);
        if (this.again.delete(agent)) void this.sync(agent);
      });
    this.running.set(agent, run);
    return run;
  }

  private async syncOnce(agent: string): Promise<void> {
    const conn = this.agents.connections(agent).find((c) => !c.session.closed && !c.session.destroyed);
    if (!conn) return;
    for (const { doc, appliedVersion } of await this.overlays.documentsFor(agent)) {
      const req: Request =
        appliedVersion < doc.version
          ? { op: 'apply', doc }
          : { op: 'status', overlay: doc.overlay, site: doc.site };
      const report = await sendOverlayMessage(conn.session, req);
      await this.overlays.report(doc.overlay, doc.site, report.appliedVersion, report.tunnels);
    }
  }
}
