// What a plugin package's entry file calls: `await runPlugin(({ controller }) => createMyPlugin(...))`.
// The launcher starts the entry as a child process with its environment set;
// the plugin serves the CloudPlugin over gRPC and announces itself with exactly
// one stdout line, `SKYWAY_PLUGIN_READY <url>`.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createInterface } from 'node:readline';
import { invalidArgument } from '@skyway/core';
import type { CloudPluginImpl, ControllerClient } from './contract.js';
import { type Authorize, connectController, pluginRoutes, serve } from './transport.js';

export const ENV_LISTEN = 'SKYWAY_PLUGIN_LISTEN';
export const ENV_CONTROLLER_URL = 'SKYWAY_CONTROLLER_URL';
export const ENV_API_KEY = 'SKYWAY_PLUGIN_API_KEY';
/** The controller's CA (PEM), when its callback URL is https: the plugin trusts only it. */
export const ENV_CONTROLLER_CA = 'SKYWAY_CONTROLLER_CA';
export const READY_PREFIX = 'SKYWAY_PLUGIN_READY';
/** `stdin` when the launcher keeps a control pipe on the plugin's stdin (see launcher.ts). */
export const ENV_CONTROL = 'SKYWAY_PLUGIN_CONTROL';
export const CONTROL_STDIN = 'stdin';
/** What the plugin prints on stdout once it uses the key it was handed on stdin. */
export const KEY_ACK_PREFIX = 'SKYWAY_PLUGIN_KEY_OK';
/** How long a plugin still accepts its previous key from its callers after a new one. */
const PREVIOUS_KEY_GRACE_MS = 10_000;
/** Set by the controller when it launches a plugin for one cloud of one namespace. */
export const ENV_CLOUD = 'SKYWAY_PLUGIN_CLOUD';
export const ENV_NAMESPACE = 'SKYWAY_PLUGIN_NAMESPACE';
/** JSON object: the descriptor's default_config merged with the cloud's config. */
export const ENV_CONFIG = 'SKYWAY_PLUGIN_CONFIG';

export interface PluginContext {
  /** The controller's callback API, authenticated with this plugin's key; absent when no controller URL was given. */
  controller?: ControllerClient;
  /** The cloud and namespace this instance serves (SKYWAY_PLUGIN_CLOUD / _NAMESPACE), when given. */
  cloud?: string;
  namespace?: string;
  /** SKYWAY_PLUGIN_CONFIG parsed ({} when unset). */
  config: Record<string, unknown>;
  /** The environment the plugin was started with. */
  env: NodeJS.ProcessEnv;
}

export type PluginFactory = (ctx: PluginContext) => CloudPluginImpl | Promise<CloudPluginImpl>;

export interface RunningPlugin {
  url: string;
  close(): Promise<void>;
}

export interface RunPluginOptions {
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where the ready line goes (default process.stdout). */
  write?: (line: string) => void;
  /** Stop on SIGTERM/SIGINT and exit (default true; off for tests that run it in-process). */
  handleSignals?: boolean;
}

/** Parses "host:port", "[v6]:port" or ":port"; port 0 = any free port. */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw invalidArgument(`${ENV_LISTEN} "${s}" must be host:port (e.g. 127.0.0.1:0)`, ENV_LISTEN);
  }
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

function parseConfig(text: string | undefined): Record<string, unknown> {
  if (!text) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`${ENV_CONFIG} is not valid JSON: ${(e as Error).message}`, ENV_CONFIG);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw invalidArgument(`${ENV_CONFIG} must be a JSON object`, ENV_CONFIG);
  }
  return v as Record<string, unknown>;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Accepts only `Bearer <key>` for one of the keys `keys()` gives, compared in constant time. */
export function bearerAuthorizer(keys: string | (() => string[])): Authorize {
  const list = typeof keys === 'string' ? () => [keys] : keys;
  return (header) => {
    if (header === undefined) return 'missing or wrong plugin key';
    const got = digest(header);
    let ok = false;
    for (const k of list()) ok = timingSafeEqual(got, digest(`Bearer ${k}`)) || ok;
    return ok ? undefined : 'missing or wrong plugin key';
  };
}

/** The plugin's current key and, for a short while after a rotation, the one before. */
class KeyRing {
  private previous?: { key: string; until: number };
  constructor(public current: string) {}
  replace(next: string): void {
    this.previous = { key: this.current, until: Date.now() + PREVIOUS_KEY_GRACE_MS };
    this.current = next;
  }
  accepted(): string[] {
    const p = this.previous;
    return p && p.until > Date.now() ? [this.current, p.key] : [this.current];
  }
}

/**
 * Reads the launcher's control pipe: each line `{"key": "...", "seq": n}` replaces the
 * key (acknowledged with `SKYWAY_PLUGIN_KEY_OK n` on stdout); its end means the
 * controller is gone, and the plugin ends too.
 */
function watchControlPipe(ring: KeyRing, write: (line: string) => void, onEnd: () => void): void {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    let msg: { key?: unknown; seq?: unknown };
    try {
      msg = JSON.parse(line);
    } catch {
      console.error('plugin: ignored a control line that is not JSON');
      return;
    }
    if (typeof msg.key === 'string' && msg.key && typeof msg.seq === 'number') {
      ring.replace(msg.key);
      write(`${KEY_ACK_PREFIX} ${msg.seq}\n`);
    }
  });
  process.stdin.once('end', onEnd);
  process.stdin.once('close', onEnd);
}

/**
 * Runs a plugin: connects to the controller (when SKYWAY_CONTROLLER_URL is
 * set, with SKYWAY_PLUGIN_API_KEY as bearer), serves the implementation on
 * SKYWAY_PLUGIN_LISTEN (default 127.0.0.1:0), requires the same key from its
 * callers when one is set, and prints `SKYWAY_PLUGIN_READY <url>`.
 */
export async function runPlugin(factory: PluginFactory, opts: RunPluginOptions = {}): Promise<RunningPlugin> {
  const env = opts.env ?? process.env;
  const handleSignals = opts.handleSignals ?? true;
  const write = opts.write ?? ((line: string) => process.stdout.write(line));
  if (handleSignals) {
    // stdout carries the ready line only; whatever the plugin logs goes to stderr.
    console.log = console.error;
    console.info = console.error;
  }
  try {
    const { host, port } = parseListen(env[ENV_LISTEN] || '127.0.0.1:0');
    const controllerUrl = env[ENV_CONTROLLER_URL];
    const apiKey = env[ENV_API_KEY] || undefined;
    if (controllerUrl && !apiKey) {
      throw invalidArgument(`${ENV_API_KEY} is required when ${ENV_CONTROLLER_URL} is set`, ENV_API_KEY);
    }
    const ring = apiKey ? new KeyRing(apiKey) : undefined;
    const conn =
      controllerUrl && ring
        ? connectController({
            url: controllerUrl,
            token: () => ring.current,
            ...(env[ENV_CONTROLLER_CA] ? { tls: { caPem: env[ENV_CONTROLLER_CA] } } : {}),
          })
        : undefined;
    const impl = await factory({
      controller: conn?.client,
      cloud: env[ENV_CLOUD] || undefined,
      namespace: env[ENV_NAMESPACE] || undefined,
      config: parseConfig(env[ENV_CONFIG]),
      env,
    });
    const served = await serve({
      routes: pluginRoutes(impl),
      host,
      port,
      authorize: ring ? bearerAuthorizer(() => ring.accepted()) : undefined,
    });
    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (async () => {
        conn?.close();
        await served.close();
      })();
      return closing;
    };
    const exit = () => {
      const force = setTimeout(() => process.exit(0), 3000);
      force.unref();
      close().finally(() => process.exit(0));
    };
    if (handleSignals) for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, exit);
    // Launched by a controller: end with it (its end closes our stdin, even after a SIGKILL).
    if (handleSignals && env[ENV_CONTROL] === CONTROL_STDIN) {
      watchControlPipe(ring ?? new KeyRing(''), write, () => {
        console.error('plugin: the controller closed the control pipe; exiting');
        exit();
      });
    }
    if (handleSignals) console.error(`plugin: serving ${served.url}`);
    write(`${READY_PREFIX} ${served.url}\n`);
    return { url: served.url, close };
  } catch (e) {
    if (!handleSignals) throw e;
    console.error(`plugin failed to start: ${(e as Error).message}`);
    process.exit(1);
  }
}
