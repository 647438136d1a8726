// `skyway agent`: run the agent inside a private network, and the control
// verbs for agents (list, enrollment bundles, kubeconfig, service credentials).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { clientOf, enc, example, globals } from '../context.js';
import { emit, printTable } from '../output.js';

const agentHome = () => process.env.SKYWAY_AGENT_HOME ?? join(process.env.HOME ?? '/root', '.skyway-agent');

async function writeSecret(file: string, data: string) {
  await writeFile(file, data, { mode: 0o600 });
  console.error(`wrote ${file} (mode 0600)`);
}

interface AgentView {
  name: string;
  connections: number;
  versions: string[];
  annotations: Record<string, string>;
  services: Array<{ name: string; type: string; annotations: Record<string, string> }>;
  requests: number;
  errors: number;
  active: number;
  sessions: Array<Record<string, unknown>>;
}

export function registerAgent(program: Command): void {
  const agent = example(
    program.command('agent').description('agents in private networks and the services they reach'),
    'skyway agent bundle edge-1 --ttl 1h -o edge-1.bundle.yaml',
    'skyway agent run --config agent.yaml --bundle edge-1.bundle.yaml',
    'skyway agent list',
  );

  example(
    agent
      .command('run')
      .description('run the agent: enroll once, then keep a reconnecting tunnel to the controller')
      .option('--config <file>', 'agent config (YAML: services, annotations, home, bundle)')
      .option('--bundle <file>', 'enrollment bundle, used when not enrolled yet')
      .option(
        '--home <dir>',
        'where the key and certificate live (default $SKYWAY_AGENT_HOME or ~/.skyway-agent)',
      )
      .option('--log-level <level>', 'trace, debug, info, warn or error', 'info'),
    'skyway agent run --config /etc/skyway/agent.yaml --bundle /etc/skyway/bundle.yaml',
  ).action(async (o) => {
    // Loaded when the command runs, not at every CLI start (skyway --help stays fast).
    const { Agent, agentRegistry, loadAgentConfig, loadBundle, serveAgentMetrics } = await import(
      '@skyway/agent'
    );
    const { default: pino } = await import('pino');
    const cfg = o.config ? await loadAgentConfig(o.config) : {};
    const bundlePath = o.bundle ?? cfg.bundle ?? process.env.SKYWAY_AGENT_BUNDLE;
    const logger = pino({ name: 'skyway-agent', level: o.logLevel });
    const a = new Agent({
      home: o.home ?? cfg.home ?? agentHome(),
      bundle: bundlePath ? await loadBundle(bundlePath).catch(() => undefined) : undefined,
      services: cfg.services ?? [],
      annotations: cfg.annotations,
      keepaliveMs: cfg.keepaliveMs,
      backoff: cfg.backoff,
      logger,
    });
    if (cfg.metricsListen) {
      const m = /^(.+):(\d{1,5})$/.exec(cfg.metricsListen);
      if (!m) throw new Error(`metricsListen must be host:port, got "${cfg.metricsListen}"`);
      const { url } = await serveAgentMetrics(agentRegistry(a), m[1]!, Number(m[2]));
      logger.info({ url }, 'metrics');
    }
    const stop = async () => {
      await a.stop();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await a.run();
  });

  example(
    agent
      .command('list')
      .description('connected agents with their services, versions, connections and request counts')
      .option('--stats', 'also ask each agent for its own per-service counters'),
    'skyway agent list',
    'skyway agent list --json',
  ).action(async (o, cmd: Command) => {
    const r = await clientOf(cmd).get<{ agents: AgentView[] }>(
      `/api/v1/agents${o.stats ? '?stats=true' : ''}`,
    );
    emit(globals(cmd).json, r, () =>
      printTable(
        r.agents.map((a) => ({
          name: a.name,
          connections: a.connections,
          versions: a.versions,
          services: a.services.map((s) => `${s.type}/${s.name}`),
          annotations: Object.entries(a.annotations).map(([k, v]) => `${k}=${v}`),
          requests: a.requests,
          errors: a.errors,
          active: a.active,
        })),
      ),
    );
  });

  example(
    agent.command('show <name>').description('one agent: each connection, its hello and statistics'),
    'skyway agent show edge-1',
  ).action(async (name: string, _o, cmd: Command) => {
    const r = await clientOf(cmd).get<AgentView>(`/api/v1/agents/${enc(name)}`);
    emit(globals(cmd).json, r, () => {
      printTable(
        r.services.map((s) => ({
          type: s.type,
          name: s.name,
          annotations: Object.entries(s.annotations).map(([k, v]) => `${k}=${v}`),
        })),
      );
      console.log();
      printTable(
        r.sessions.map((s) => ({
          id: s.id,
          remote: s.remote,
          hostname: s.hostname,
          version: s.version,
          connected: s.connectedAt,
          requests: s.requests,
          errors: s.errors,
          active: s.active,
        })),
      );
    });
  });

  example(
    agent
      .command('bundle <name>')
      .description('an enrollment bundle (single-use join token, controller address, CA) for a new agent')
      .option('--ttl <duration>', 'how long the join token is valid', '1h')
      .option('-o, --output <file>', 'write the bundle to a file (mode 0600) instead of stdout'),
    'skyway agent bundle edge-1 --ttl 30m -o edge-1.bundle.yaml',
  ).action(async (name: string, o, cmd: Command) => {
    const b = await clientOf(cmd).post<Record<string, unknown>>(
      `/api/v1/agents/${enc(name)}/enrollment-bundle`,
      {
        ttl: o.ttl,
      },
    );
    const { stringify } = await import('yaml');
    if (o.output) await writeSecret(o.output, stringify(b));
    else emit(globals(cmd).json, b, () => process.stdout.write(stringify(b)));
  });

  example(
    agent
      .command('kubeconfig <name>')
      .description("a kubeconfig that points kubectl at the controller for one agent's kubernetes service")
      .option('--service <name>', 'the kubernetes service (default: the only one the agent reports)')
      .option('--ttl <duration>', 'lifetime of the client certificate', '30d')
      .option('-o, --output <file>', 'write the kubeconfig to a file (mode 0600) instead of stdout'),
    'skyway agent kubeconfig edge-1 -o edge-1.kubeconfig && kubectl --kubeconfig edge-1.kubeconfig get pods',
  ).action(async (name: string, o, cmd: Command) => {
    const r = await clientOf(cmd).post<{ id: string; expiresAt: string; kubeconfig: string }>(
      `/api/v1/agents/${enc(name)}/kubeconfig`,
      { service: o.service, ttl: o.ttl },
    );
    if (o.output) await writeSecret(o.output, r.kubeconfig);
    else emit(globals(cmd).json, r, () => process.stdout.write(r.kubeconfig));
  });

  example(
    agent
      .command('credentials <name> <serviceType> <serviceName>')
      .description('credentials for one agent service: a bearer token (default) or a client certificate')
      .option('--cert', 'issue a client certificate and key instead of a token')
      .option('--ttl <duration>', 'lifetime', '30d')
      .option('-o, --output <prefix>', 'write <prefix>.crt/.key/ca.crt or <prefix>.token (mode 0600)'),
    'skyway agent credentials edge-1 jenkins ci --ttl 12h',
    'skyway agent credentials edge-1 argocd prod --cert -o argocd',
  ).action(async (name: string, serviceType: string, serviceName: string, o, cmd: Command) => {
    const r = await clientOf(cmd).post<Record<string, string>>(
      `/api/v1/agents/${enc(name)}/service-credentials`,
      {
        serviceType,
        serviceName,
        kind: o.cert ? 'certificate' : 'token',
        ttl: o.ttl,
      },
    );
    if (o.output) {
      if (r.kind === 'certificate') {
        await writeSecret(`${o.output}.crt`, r.certificate!);
        await writeSecret(`${o.output}.key`, r.key!);
      } else await writeSecret(`${o.output}.token`, `${r.token}\n`);
      await writeFile(`${o.output}.ca.crt`, r.ca!);
      console.error(`use ${r.url} (id ${r.id}, expires ${r.expiresAt})`);
      return;
    }
    emit(globals(cmd).json, r, () => {
      printTable([
        { id: r.id, agent: name, service: `${serviceType}/${serviceName}`, url: r.url, expires: r.expiresAt },
      ]);
      if (r.kind === 'token') console.log(`\ntoken (shown once):\n${r.token}`);
      else console.log(`\n${r.certificate}${r.key}`);
    });
  });
}
