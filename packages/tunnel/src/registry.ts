// Connected agents. Several connections may carry the same agent name: they
// share the load (least in-flight requests, random among equals) and fail over
// for each other.
import type { ClientHttp2Session } from 'node:http2';

export interface AgentServiceInfo {
  name: string;
  type: string;
  annotations: Record<string, string>;
}

export interface AgentHello {
  version: string;
  hostname: string;
  annotations: Record<string, string>;
  services: AgentServiceInfo[];
  certificateExpires?: string;
}

export interface ConnectionStats {
  requests: number;
  errors: number;
  active: number;
}

export interface AgentConnection {
  readonly id: string;
  readonly agent: string;
  readonly remote: string;
  readonly connectedAt: Date;
  readonly certSerial: string;
  readonly session: ClientHttp2Session;
  readonly hello: AgentHello;
  readonly stats: ConnectionStats;
  /** Services by "type/name". */
  readonly serviceKeys: Set<string>;
  close(): void;
  /** The agent's own counters, over the control channel. */
  fetchStats(timeoutMs?: number): Promise<unknown>;
}

export class AgentRegistry {
  private readonly byName = new Map<string, AgentConnection[]>();
  private readonly listeners = new Set<
    (e: { type: 'connected' | 'disconnected'; conn: AgentConnection }) => void
  >();

  add(conn: AgentConnection) {
    const list = this.byName.get(conn.agent) ?? [];
    list.push(conn);
    this.byName.set(conn.agent, list);
    for (const l of this.listeners) l({ type: 'connected', conn });
  }

  remove(conn: AgentConnection) {
    const list = this.byName.get(conn.agent);
    if (!list) return;
    const i = list.indexOf(conn);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.byName.delete(conn.agent);
    for (const l of this.listeners) l({ type: 'disconnected', conn });
  }

  on(fn: (e: { type: 'connected' | 'disconnected'; conn: AgentConnection }) => void) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** A live connection of `agent` offering `type/name`, least busy first; `exclude` for retries. */
  pick(agent: string, key: string, exclude?: AgentConnection): AgentConnection | undefined {
    const list = this.byName.get(agent);
    if (!list) return undefined;
    let best: AgentConnection | undefined;
    let ties = 0;
    for (const c of list) {
      if (c === exclude || c.session.closed || c.session.destroyed || !c.serviceKeys.has(key)) continue;
      if (!best || c.stats.active < best.stats.active) {
        best = c;
        ties = 1;
      } else if (c.stats.active === best.stats.active && Math.random() * ++ties < 1) best = c;
    }
    return best;
  }

  connections(agent?: string): AgentConnection[] {
    if (agent !== undefined) return [...(this.byName.get(agent) ?? [])];
    return [...this.byName.values()].flat();
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  has(agent: string) {
    return this.byName.has(agent);
  }

  closeAll() {
    for (const c of this.connections()) c.close();
  }
}
