// The agent side of the control service (skyway.tunnel.v1.AgentService),
// served over the reversed HTTP/2 connection; the controller is the client.
import { hostname } from 'node:os';
import type { ConnectRouter } from '@connectrpc/connect';
import { AgentService } from '@skyway/proto/tunnel';
import type { Service } from './services.js';
import type { Stats } from './stats.js';

export interface StatusEventInit {
  kind: string;
  message: string;
  attributes?: Record<string, string>;
}

export interface ControlState {
  agent: () => string;
  version: string;
  annotations: Record<string, string>;
  services: Map<string, Service>;
  stats: Stats;
  certificateExpires: () => number;
  /** Subscribes to status events; returns the unsubscribe function. */
  onStatus: (fn: (e: StatusEventInit & { timeMs: number }) => void) => () => void;
}

export function controlRoutes(state: ControlState) {
  return (router: ConnectRouter) =>
    router.service(AgentService, {
      hello() {
        return {
          agentName: state.agent(),
          version: state.version,
          hostname: hostname(),
          annotations: state.annotations,
          services: [...state.services.values()].map((s) => ({
            name: s.name,
            type: s.type,
            annotations: s.annotations,
          })),
          agentTimeMs: BigInt(Date.now()),
          certificateExpiresMs: BigInt(state.certificateExpires()),
        };
      },
      getStats() {
        return {
          services: state.stats.entries().map(([key, c]) => {
            const [type, name] = key.split('/');
            return {
              type,
              name,
              requests: BigInt(c.requests),
              errors: BigInt(c.errors),
              active: c.active,
              bytesIn: 0n,
              bytesOut: 0n,
            };
          }),
          uptimeMs: BigInt(Date.now() - state.stats.started),
          rssBytes: BigInt(process.memoryUsage.rss()),
        };
      },
      async *watchStatus(_req, ctx) {
        const queue: Array<StatusEventInit & { timeMs: number }> = [];
        let wake: (() => void) | undefined;
        const off = state.onStatus((e) => {
          queue.push(e);
          wake?.();
        });
        // Aborting wakes the loop too (racing a promise that never settles would grow its reactions per event).
        const onAbort = () => wake?.();
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        try {
          while (!ctx.signal.aborted) {
            while (queue.length) {
              const e = queue.shift()!;
              yield {
                timeMs: BigInt(e.timeMs),
                kind: e.kind,
                message: e.message,
                attributes: e.attributes ?? {},
              };
            }
            if (ctx.signal.aborted) break;
            await new Promise<void>((r) => (wake = r));
          }
        } finally {
          ctx.signal.removeEventListener('abort', onAbort);
          off();
        }
      },
    });
}
