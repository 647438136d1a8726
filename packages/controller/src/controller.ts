// The composition root: opens the store, builds the services, starts the
// plugins (in-process or as their own processes), the callback service they
// call, and the REST API.
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { failedPrecondition } from '@skyway/core';
import {
  type CloudPluginImpl,
  type ControllerClient,
  controllerRoutes,
  inProcess,
  inProcessController,
  launchPlugin,
  loadDescriptor,
  PluginRegistry,
  serve,
} from '@skyway/plugin-sdk';
import type { TunnelEndpoint, TunnelLimits } from '@skyway/tunnel';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import pino from 'pino';
import { makeAgentRoutes, startAgentTunnel } from './agents/index.js';
import { Revocations, registryBackend, storeTokenBackend } from './auth/revocations.js';
import { TokenService } from './auth/tokens.js';
import { openFileCa } from './ca/index.js';
import type { ControllerConfig } from './config.js';
import { bearerCaller, controllerService } from './grpc/controller-service.js';
import { PluginKeys } from './grpc/plugin-keys.js';
import { buildApp } from './http/app.js';
import { ConsoleSessions, consoleRoutes, installSessionCookies } from './console/index.js';
import { startMetrics } from './metrics/index.js';
import { OverlayDelivery } from './overlay/delivery.js';
import { OverlayService } from './overlay/service.js';
import { startParagliderListener } from './http/paraglider/index.js';
import { SecretBox } from './secrets.js';
import { AccessService } from './services/access.js';
import { ConnectivityService } from './services/connectivity.js';
import { EventBus } from './services/events.js';
import { PluginManager } from './services/plugins.js';
import { Poller } from './services/poller.js';
import { ResourceService } from './services/resources.js';
import { RuleService } from './services/rules.js';
import { TagService } from './services/tags.js';
import { Store } from './store/store.js';

/** Builds a trusted in-process plugin for one cloud. */
export type InProcessFactory = (opts: {
  cloud: string;
  namespace: string;
  config: Record<string, unknown>;
  controller: ControllerClient;
}) => CloudPluginImpl | Promise<CloudPluginImpl>;

export interface StartOptions {
  config: ControllerConfig;
  /** In-process plugins by name (the CLI passes the lab cloud; tests pass fakes). */
  inProcessPlugins?: Record<string, InProcessFactory>;
  /** Descriptor files of built-in plugins, registered beside the config's `plugins`. */
  builtinDescriptors?: string[];
  logger?: FastifyBaseLogger;
  /** Listen for HTTP (default true; false for inject()-only tests). */
  listen?: boolean;
  extraRoutes?: Array<(app: FastifyInstance) => Promise<void>>;
  /** Timeouts and connection caps of the tunnel's listeners (tests shorten them). */
  tunnelLimits?: Partial<TunnelLimits>;
}

export interface RunningController {
  app: FastifyInstance;
  url: string;
  callbackUrl: string;
  store: Store;
  adminToken: string;
  services: import('./http/context.js').Services;
  tokens: TokenService;
  tunnel: TunnelEndpoint;
  /** GET /metrics on a listener of its own (config metrics_listen), when there is one. */
  metricsUrl?: string;
  /** The Paraglider-compatible listener (http://host:port or unix:/path), when the config enables it. */
  paragliderUrl?: string;
  /** The one revocation list (every credential kind, every listener). */
  revocations: Revocations;
  close(): Promise<void>;
}

export async function startController(opts: StartOptions): Promise<RunningController> {
  const { config } = opts;
  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  const store = await Store.open(config.database);
  const closers: Array<() => Promise<void> | void> = [() => store.close()];
  try {
    const secrets = SecretBox.fromFile(join(config.home, 'secret.key'));
    const events = new EventBus(store);
    // One CA and one revocation list for every credential kind and every listener.
    const { ca, registry: issued } = await openFileCa(config.home);
    const revocations = await Revocations.open([storeTokenBackend(store), registryBackend(issued)]);
    const tokens = await TokenService.open({
      keyFile: join(config.home, 'token-key.jwk'),
      revocations,
    });
    const access = new AccessService(store, tokens, events, revocations);
    const adminFile = join(config.home, 'admin.token');
    await access.ensureAdminToken(adminFile);
    const plugins = new PluginManager();
    const metrics = startMetrics({ events, plugins });
    const consoleSessions = new ConsoleSessions();
    closers.push(() => metrics.close());
    const tags = new TagService(store, events);
    await tags.load();
    const resources = new ResourceService(store, plugins, tags, events);
    const connectivity = new ConnectivityService(store, plugins, events, secrets);
    const rules = new RuleService(store, resources, tags, plugins, connectivity, events);
    tags.onChange = async (changed) => {
      await rules.reapplySubscribers(changed);
    };
    const poller = new Poller(store, plugins, resources, rules, events, {
      repair: config.repairDrift,
      onError: (e) => opts.logger?.error({ err: e }, 'drift check failed'),
    });
    const registry = await loadRegistry([...(opts.builtinDescriptors ?? []), ...config.plugins]);
    const services = { resources, rules, tags, connectivity, events, access, plugins, poller, registry };

    // Plugin processes die with their controller, so keys an earlier run left live serve no one.
    await revokeStalePluginKeys(access);
    const keyOptions = {
      access,
      ttlMs: config.pluginKeyTtlMs,
      onError: (err: unknown, what: string) => opts.logger?.error({ err }, what),
    };
    // The callback service for out-of-process plugins, authenticated by each plugin's API key.
    const callbackDeps = { store, plugins, connectivity, tokens, addressPools: config.addressPools };
    const callbacks = await serve({
      routes: controllerRoutes(controllerService(callbackDeps, bearerCaller(tokens))),
      host: config.host,
      port: config.pluginPort,
    });
    closers.push(() => callbacks.close());

    for (const [namespace, { clouds }] of Object.entries(config.namespaces)) {
      for (const cloud of clouds) {
        const factory = opts.inProcessPlugins?.[cloud.plugin];
        const descriptor = registry.has(cloud.plugin) ? registry.get(cloud.plugin) : undefined;
        if (factory && descriptor?.runtime !== 'process') {
          // Trusted fast path: same process, calls back without a network hop.
          const self = { plugin: cloud.plugin, bindings: [{ namespace, cloud: cloud.name }] };
          const controller = inProcessController(controllerService(callbackDeps, async () => self));
          const impl = await factory({
            cloud: cloud.name,
            namespace,
            config: { ...descriptor?.default_config, ...cloud.config },
            controller,
          });
          plugins.add({
            namespace,
            cloud: cloud.name,
            deployment: cloud.deployment,
            plugin: cloud.plugin,
            client: inProcess(impl),
            descriptor,
          });
          continue;
        }
        if (!descriptor) {
          const known = [
            ...new Set([...registry.list().map((d) => d.name), ...Object.keys(opts.inProcessPlugins ?? {})]),
          ];
          throw failedPrecondition(
            `namespaces.${namespace}.clouds.${cloud.name}.plugin: no plugin named "${cloud.plugin}" (known: ${known.join(', ') || 'none'})`,
          );
        }
        // Isolated: its own process with its own short-lived key, bound to this cloud alone.
        const keys = new PluginKeys(keyOptions, cloud.plugin, [{ namespace, cloud: cloud.name }]);
        const pluginLog = opts.logger?.child({ plugin: cloud.plugin, namespace, cloud: cloud.name });
        const launched = await launchPlugin({
          descriptor,
          controllerUrl: callbacks.url,
          apiKey: await keys.issue(),
          env: {
            SKYWAY_PLUGIN_CLOUD: cloud.name,
            SKYWAY_PLUGIN_NAMESPACE: namespace,
            SKYWAY_PLUGIN_CONFIG: JSON.stringify({ ...descriptor.default_config, ...cloud.config }),
          },
          onStderr: (line) => pluginLog?.warn({ stderr: line }, 'plugin stderr'),
        }).catch(async (e) => {
          await keys.stop();
          throw e;
        });
        keys.startRotation(launched);
        // Its keys die with the process, however it ends.
        void launched.exited.then(() => keys.stop());
        closers.push(async () => {
          await launched.stop();
          await keys.stop();
        });
        plugins.add({
          namespace,
          cloud: cloud.name,
          deployment: cloud.deployment,
          plugin: cloud.plugin,
          client: launched.client,
          descriptor,
        });
      }
    }

    // The agent tunnel: agents dial in here; callers reach their services on the service port.
    const tunnel = await startAgentTunnel({
      home: config.home,
      ca,
      tokens,
      revocations,
      logger: opts.logger ?? pino({ enabled: false }),
      host: config.host,
      tunnelPort: config.tunnelPort,
      servicePort: config.servicePort,
      limits: opts.tunnelLimits,
    });
    closers.push(() => tunnel.close());
    metrics.watchTunnel(tunnel);
    const agentRoutes = makeAgentRoutes({ endpoint: tunnel, ca, tokens, registry: issued, revocations });
    const overlays = new OverlayService({
      store,
      secrets,
      root: ca,
      isRegistered: (agent) => tunnel.agents.has(agent),
    });
    // Site documents go to their agents over the control channel; their reports come back.
    const delivery = new OverlayDelivery(overlays, tunnel.agents, { log: opts.logger as never });
    delivery.start();
    closers.push(() => delivery.stop());
    const app = await buildApp({
      overlays,
      services,
      tokens,
      logger: opts.logger,
      extraRoutes: [agentRoutes, ...(opts.extraRoutes ?? [])],
      beforeAuth: (a) => installSessionCookies(a, consoleSessions),
    });
    await app.register(consoleRoutes({ sessions: consoleSessions, tokens }));
    closers.push(() => app.close());
    metrics.install(app);
    const metricsUrl = config.metricsListen
      ? await metrics.listen(config.metricsListen.host, config.metricsListen.port)
      : undefined;
    poller.start(config.pollInterval * 1000);
    closers.push(() => poller.stop());
    let url = 'http://inject';
    if (opts.listen !== false) {
      url = await app.listen({ host: config.host, port: config.port });
      writeFileSync(join(config.home, 'url'), `${url}\n`);
    } else {
      await app.ready();
    }
    let paragliderUrl: string | undefined;
    // Its own listener, started whenever the config asks for it (inject()-only tests too).
    if (config.paraglider) {
      const pg = await startParagliderListener({ services, config: config.paraglider, logger: opts.logger });
      closers.push(() => pg.close());
      paragliderUrl = pg.url;
    }
    return {
      app,
      url,
      callbackUrl: callbacks.url,
      store,
      services,
      tokens,
      tunnel,
      ...(metricsUrl ? { metricsUrl } : {}),
      paragliderUrl,
      revocations,
      adminToken: readFileSync(adminFile, 'utf8').trim(),
      close: async () => {
        for (const c of closers.reverse()) await c();
      },
    };
  } catch (e) {
    for (const c of closers.reverse()) await c();
    throw e;
  }
}

async function revokeStalePluginKeys(access: AccessService): Promise<void> {
  const now = Date.now();
  for (const t of await access.list()) {
    const kind = (t.scope as { kind?: string } | null)?.kind;
    if (kind === 'plugin' && !t.revokedAt && Date.parse(t.expiresAt) > now) await access.revoke(t.id);
  }
}

/** The plugin registry: every descriptor file named, and every descriptor in each directory named. */
async function loadRegistry(paths: string[]): Promise<PluginRegistry> {
  const registry = new PluginRegistry();
  for (const path of paths) {
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) await registry.loadDirectory(path);
    else registry.add(await loadDescriptor(path));
  }
  return registry;
}
