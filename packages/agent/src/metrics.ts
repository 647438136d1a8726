// The agent's Prometheus metrics, served on a listener of its own
// (`metrics_listen` in agent.yaml): requests, errors and streams in flight per
// service (the counters the controller also reads over the tunnel), the tunnel
// connection, and process metrics. Labels are service keys, never credentials.
import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Agent } from './agent.js';

export function agentRegistry(agent: Agent): Registry {
  let up = false;
  agent.on('connected', () => {
    up = true;
  });
  agent.on('disconnected', () => {
    up = false;
  });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const perService = (name: string, help: string, field: 'requests' | 'errors') =>
    new Counter({
      name,
      help,
      labelNames: ['service'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [service, c] of agent.stats.entries()) this.inc({ service }, c[field]);
      },
    });
  perService('skyway_agent_requests_total', 'Requests relayed to each service (type/name)', 'requests');
  perService(
    'skyway_agent_request_errors_total',
    'Requests a service could not answer (type/name)',
    'errors',
  );
  new Gauge({
    name: 'skyway_agent_open_streams',
    help: 'Requests in flight to each service (type/name)',
    labelNames: ['service'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [service, c] of agent.stats.entries()) this.set({ service }, c.active);
    },
  });
  new Gauge({
    name: 'skyway_agent_tunnel_connected',
    help: '1 while the tunnel to the controller is up',
    registers: [registry],
    collect() {
      this.set(up ? 1 : 0);
    },
  });
  new Counter({
    name: 'skyway_agent_tunnel_connections_total',
    help: 'Tunnel connections made to the controller',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(agent.connections);
    },
  });
  return registry;
}

/** GET /metrics on host:port; resolves to its URL. */
export async function serveAgentMetrics(
  registry: Registry,
  host: string,
  port: number,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end('only GET /metrics here\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (e: Error) => res.writeHead(500).end(`${e.message}\n`),
    );
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(port, host, ok));
  const a = server.address() as { address: string; port: number };
  return { url: `http://${a.address}:${a.port}/metrics`, server };
}
