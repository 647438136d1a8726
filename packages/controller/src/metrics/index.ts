// The controller's /metrics: one collector per controller, fed by the REST
// API, the plugin clients, the event bus, and the agent tunnel.
import { createServer, type Server } from 'node:http';
import type { TunnelEndpoint } from '@skyway/tunnel';
import type { FastifyInstance } from 'fastify';
import { allow } from '../http/access.js';
import type { EventBus } from '../services/events.js';
import type { PluginManager } from '../services/plugins.js';
import { ControllerMetrics } from './controller-metrics.js';
import { installHttpMetrics } from './http-metrics.js';
import { instrumentPluginClient } from './plugin-client.js';
import { countDrift, observeTunnel, watchEvents, watchTunnel } from './sources.js';

export { ControllerMetrics } from './controller-metrics.js';

export interface RunningMetrics {
  metrics: ControllerMetrics;
  watchTunnel(tunnel: TunnelEndpoint): void;
  /** Adds the request hook and GET /metrics (viewer role, like the API) to the REST app. */
  install(app: FastifyInstance): void;
  /** A plain listener of its own (no token: the operator chose its address), e.g. for Prometheus. */
  listen(host: string, port: number): Promise<string>;
  close(): Promise<void>;
}

/** Call before plugins are added: their clients are wrapped as they are. */
export function startMetrics(parts: { events: EventBus; plugins: PluginManager }): RunningMetrics {
  const metrics = new ControllerMetrics();
  parts.plugins.wrapClient = (cloud, client) => instrumentPluginClient(metrics, cloud, client);
  const closers: Array<() => void> = [countDrift(metrics, parts.events), observeTunnel(metrics)];
  watchEvents(metrics, parts.events, 1);
  let server: Server | undefined;
  return {
    metrics,
    watchTunnel: (tunnel) => watchTunnel(metrics, tunnel),
    install(app) {
      installHttpMetrics(app, metrics);
      app.get(
        '/metrics',
        {
          config: allow('viewer', 'none'),
          schema: { hide: true },
        },
        async (_req, reply) => {
          return reply.type(metrics.contentType).send(await metrics.text());
        },
      );
    },
    async listen(host, port) {
      server = createServer((req, res) => {
        if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
          res.writeHead(404).end('only GET /metrics here\n');
          return;
        }
        metrics.text().then(
          (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
          (e: Error) => res.writeHead(500).end(`${e.message}\n`),
        );
      });
      await new Promise<void>((ok, fail) => server!.once('error', fail).listen(port, host, ok));
      const a = server.address() as { address: string; port: number };
      return `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}/metrics`;
    },
    async close() {
      for (const c of closers) c();
      if (server) await new Promise<void>((ok) => server!.close(() => ok()));
    },
  };
}
