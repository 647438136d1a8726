// The controller's Prometheus metrics, on a registry of its own (several
// controllers may share a process in tests). Labels are route templates,
// cloud, agent and service names, methods and codes: never a token, a URL
// with its values, or anything secret.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds: from a fast API call to a slow cloud API (a VPN gateway takes minutes). */
const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export class ControllerMetrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'skyway_http_requests_total',
    help: 'REST API requests by route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'skyway_http_request_duration_seconds',
    help: 'REST API request latency by route template and method',
    labelNames: ['route', 'method'] as const,
    buckets: latencyBuckets,
    registers: [this.registry],
  });

  readonly pluginCalls = new Counter({
    name: 'skyway_plugin_calls_total',
    help: 'Calls to cloud plugins by cloud, method and result code (OK or the error code)',
    labelNames: ['cloud', 'method', 'code'] as const,
    registers: [this.registry],
  });

  readonly pluginDuration = new Histogram({
    name: 'skyway_plugin_call_duration_seconds',
    help: 'Cloud plugin call latency by cloud and method',
    labelNames: ['cloud', 'method'] as const,
    buckets: latencyBuckets,
    registers: [this.registry],
  });

  readonly driftDetected = new Counter({
    name: 'skyway_drift_detected_total',
    help: 'Drift found by the poller (or a drift check), by cloud and kind',
    labelNames: ['cloud', 'kind'] as const,
    registers: [this.registry],
  });

  readonly driftRepaired = new Counter({
    name: 'skyway_drift_repaired_total',
    help: 'Drift repaired (the cloud made to match the store), by cloud and kind',
    labelNames: ['cloud', 'kind'] as const,
    registers: [this.registry],
  });

  readonly tunnelRequests = new Counter({
    name: 'skyway_tunnel_requests_total',
    help: 'Requests relayed to agent services, by agent and service (type/name)',
    labelNames: ['agent', 'service'] as const,
    registers: [this.registry],
  });

  readonly tunnelBytes = new Counter({
    name: 'skyway_tunnel_bytes_total',
    help: 'Bytes relayed through agent tunnels, by agent, service and direction (to_agent, from_agent)',
    labelNames: ['agent', 'service', 'direction'] as const,
    registers: [this.registry],
  });

  readonly tunnelRelayErrors = new Counter({
    name: 'skyway_tunnel_relay_errors_total',
    help: 'Requests the tunnel could not relay (agent lost or unreachable service), by agent and service',
    labelNames: ['agent', 'service'] as const,
    registers: [this.registry],
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** A gauge whose value is read at each scrape. */
  gauge(
    name: string,
    help: string,
    labelNames: string[],
    read: (set: (labels: Record<string, string>, v: number) => void) => void,
  ) {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        read((labels, v) => this.set(labels, v));
      },
    });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
