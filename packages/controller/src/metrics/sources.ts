// What the controller's metrics read from the running parts: drift events,
// event subscribers, the agents connected to the tunnel and the streams they
// carry, and what the tunnel relays.

import { type TunnelEndpoint, type TunnelObserver, tunnelObserver } from '@skyway/tunnel';
import type { EventBus } from '../services/events.js';
import type { ControllerMetrics } from './controller-metrics.js';

interface DriftData {
  cloud?: string;
  kind?: string;
}

/** Counts drift from the event bus; returns the unsubscribe. */
export function countDrift(metrics: ControllerMetrics, events: EventBus): () => void {
  return events.subscribe((e) => {
    if (e.type !== 'drift.detected' && e.type !== 'drift.repaired') return;
    const d = (e.data ?? {}) as DriftData;
    const labels = { cloud: d.cloud ?? '', kind: d.kind ?? '' };
    (e.type === 'drift.detected' ? metrics.driftDetected : metrics.driftRepaired).inc(labels);
  });
}

export function watchEvents(metrics: ControllerMetrics, events: EventBus, own: number): void {
  metrics.gauge('skyway_event_subscribers', 'Live event subscribers (server-sent event streams)', [], (set) =>
    set({}, Math.max(0, events.subscribers() - own)),
  );
}

export function watchTunnel(metrics: ControllerMetrics, tunnel: TunnelEndpoint): void {
  metrics.gauge('skyway_tunnel_agents_connected', 'Agents with at least one tunnel connection', [], (set) =>
    set({}, tunnel.agents.names().length),
  );
  metrics.gauge(
    'skyway_tunnel_connections',
    'Tunnel connections by agent (an agent may keep several)',
    ['agent'],
    (set) => {
      for (const agent of tunnel.agents.names()) set({ agent }, tunnel.agents.connections(agent).length);
    },
  );
  metrics.gauge(
    'skyway_tunnel_open_streams',
    'Requests in flight through the tunnel, by agent',
    ['agent'],
    (set) => {
      for (const agent of tunnel.agents.names()) {
        set(
          { agent },
          tunnel.agents.connections(agent).reduce((n, c) => n + c.stats.active, 0),
        );
      }
    },
  );
}

/** The tunnel's counters go to `metrics` (one controller per process observes the tunnel code). */
export function observeTunnel(metrics: ControllerMetrics): () => void {
  const observer: TunnelObserver = {
    request: (agent, service) => metrics.tunnelRequests.inc({ agent, service }),
    bytes: (agent, service, direction, n) => metrics.tunnelBytes.inc({ agent, service, direction }, n),
    relayError: (agent, service) => metrics.tunnelRelayErrors.inc({ agent, service }),
  };
  tunnelObserver.current = observer;
  return () => {
    if (tunnelObserver.current === observer) tunnelObserver.current = undefined;
  };
}
