// The controller's configuration: where it listens, its store, address pools,
// plugin descriptors, and the namespaces with their clouds. Read from YAML;
// every mistake is reported with the file and the field.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { invalidArgument, parseCidr } from '@skyway/core';
import { parse } from 'yaml';
import { parseDuration } from './auth/tokens.js';
import { type ParagliderConfig, parseParagliderConfig } from './http/paraglider/config.js';

export interface CloudConfig {
  name: string;
  /** Descriptor name of the plugin serving this cloud (e.g. "local"). */
  plugin: string;
  /** ParagliderDeployment.id passed to the plugin; defaults to the cloud name. */
  deployment: string;
  /** Plugin-specific settings merged over the descriptor's default_config. */
  config: Record<string, unknown>;
}

export interface ControllerConfig {
  home: string;
  host: string;
  port: number;
  /** Port of the gRPC service plugins call back into (0 = any free port). */
  pluginPort: number;
  /** Where agents dial in, and where callers reach agent services (0 = any free port). */
  tunnelPort: number;
  servicePort: number;
  /** A file path or a postgres:// URL. */
  database: string;
  addressPools: string[];
  /** Plugin descriptor files and directories of them, relative to the config file. */
  plugins: string[];
  namespaces: Record<string, { clouds: CloudConfig[] }>;
  /** Seconds between drift checks (0: only on request). */
  pollInterval: number;
  /** Make the clouds match the store when drift is found (false: report only). */
  repairDrift: boolean;
  /** A listener of its own for GET /metrics, without a token (else /metrics is on the API, viewer role). */
  metricsListen?: { host: string; port: number };
  /** Lifetime of an out-of-process plugin's API key; renewed every third of it while the plugin runs. */
  pluginKeyTtlMs: number;
  /** Where the master key is (default $SKYWAY_HOME/secret.key; SKYWAY_MASTER_KEY overrides both). */
  masterKeyFile?: string;
  /** Serve REST and the plugin callbacks over TLS with the controller's CA (default: when beyond loopback). */
  tls: boolean;
  /** Allow plain HTTP beyond loopback (config `insecure: true`, `skyway serve --insecure`). */
  insecure: boolean;
  /** The Paraglider-compatible API's own listener (loopback or Unix socket); off when absent. */
  paraglider?: ParagliderConfig;
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** 127.0.0.0/8, ::1 and localhost: reachable from this host only. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Plain HTTP beyond loopback only when asked for by name (`insecure`). */
export function checkPlaintext(
  c: { host: string; tls: boolean; insecure: boolean },
  fail: (field: string, msg: string) => Error = (field, msg) => invalidArgument(`${field} ${msg}`, field),
): void {
  if (!c.tls && !c.insecure && !isLoopback(c.host))
    throw fail(
      'tls',
      `is off while listen ${c.host} is beyond loopback: REST and plugin callbacks would be plain HTTP; serve TLS (the default) or set insecure: true (skyway serve --insecure)`,
    );
}

export function defaultHome(): string {
  return process.env.SKYWAY_HOME ?? join(process.env.HOME ?? '/root', '.skyway');
}

/** Builds a config from a parsed YAML object, filling defaults. */
export function parseConfig(raw: unknown, source: string, home = defaultHome()): ControllerConfig {
  const fail = (field: string, msg: string) => invalidArgument(`${source}: ${field} ${msg}`, field);
  const obj = (raw ?? {}) as Record<string, unknown>;
  if (typeof obj !== 'object' || Array.isArray(obj)) throw fail('(top level)', 'must be a mapping');
  const known = [
    'listen',
    'plugin_listen',
    'tunnel_listen',
    'service_listen',
    'database',
    'address_pools',
    'plugins',
    'namespaces',
    'poll_interval',
    'repair_drift',
    'metrics_listen',
    'plugin_key_ttl',
    'master_key_file',
    'tls',
    'insecure',
    'paraglider',
  ];
  for (const k of Object.keys(obj))
    if (!known.includes(k)) throw fail(k, `is not a known setting (known: ${known.join(', ')})`);
  const hostPort = (v: unknown, field: string, def: string) => {
    const s = String(v ?? def);
    const m = /^([^:]+):(\d{1,5})$/.exec(s);
    if (!m || Number(m[2]) > 65535) throw fail(field, `must be host:port, got "${s}"`);
    return { host: m[1]!, port: Number(m[2]) };
  };
  const listen = hostPort(obj.listen, 'listen', '127.0.0.1:7070');
  const pluginListen = hostPort(obj.plugin_listen, 'plugin_listen', `${listen.host}:0`);
  const tunnelListen = hostPort(obj.tunnel_listen, 'tunnel_listen', `${listen.host}:0`);
  const serviceListen = hostPort(obj.service_listen, 'service_listen', `${listen.host}:0`);
  const pools = (obj.address_pools ?? ['10.0.0.0/8']) as unknown[];
  if (!Array.isArray(pools) || pools.length === 0)
    throw fail('address_pools', 'must be a non-empty list of CIDRs');
  for (const [i, p] of pools.entries()) parseCidr(String(p), `address_pools[${i}]`);
  const plugins = (obj.plugins ?? []) as unknown[];
  if (!Array.isArray(plugins)) throw fail('plugins', 'must be a list of descriptor files or directories');
  const namespaces: ControllerConfig['namespaces'] = {};
  const nsRaw = (obj.namespaces ?? {}) as Record<string, unknown>;
  if (typeof nsRaw !== 'object' || Array.isArray(nsRaw))
    throw fail('namespaces', 'must be a mapping of namespace names');
  for (const [ns, nsv] of Object.entries(nsRaw)) {
    if (!NAME.test(ns)) throw fail(`namespaces.${ns}`, 'is not a valid name (lowercase letters, digits, -)');
    const cloudsRaw = ((nsv ?? {}) as Record<string, unknown>).clouds ?? {};
    if (typeof cloudsRaw !== 'object' || Array.isArray(cloudsRaw)) {
      throw fail(`namespaces.${ns}.clouds`, 'must be a mapping of cloud names');
    }
    const clouds: CloudConfig[] = [];
    for (const [cloud, cv] of Object.entries(cloudsRaw as Record<string, unknown>)) {
      const field = `namespaces.${ns}.clouds.${cloud}`;
      if (!NAME.test(cloud)) throw fail(field, 'is not a valid cloud name (lowercase letters, digits, -)');
      const c = (cv ?? {}) as Record<string, unknown>;
      for (const k of Object.keys(c)) {
        if (!['plugin', 'deployment', 'config'].includes(k))
          throw fail(`${field}.${k}`, 'is not a known setting');
      }
      if (typeof c.plugin !== 'string' || !c.plugin)
        throw fail(`${field}.plugin`, 'is required (the plugin name)');
      clouds.push({
        name: cloud,
        plugin: c.plugin,
        deployment: typeof c.deployment === 'string' ? c.deployment : cloud,
        config: (c.config ?? {}) as Record<string, unknown>,
      });
    }
    namespaces[ns] = { clouds };
  }
  const pollInterval = obj.poll_interval ?? 60;
  if (typeof pollInterval !== 'number' || !Number.isInteger(pollInterval) || pollInterval < 0)
    throw fail(
      'poll_interval',
      `must be a whole number of seconds (0: off), got ${JSON.stringify(pollInterval)}`,
    );
  const repairDrift = obj.repair_drift ?? true;
  if (typeof repairDrift !== 'boolean') throw fail('repair_drift', 'must be true or false');
  const metricsListen =
    obj.metrics_listen === undefined ? undefined : hostPort(obj.metrics_listen, 'metrics_listen', '');
  const pluginKeyTtlMs = parseDuration(String(obj.plugin_key_ttl ?? '1h'), 'plugin_key_ttl');
  if (pluginKeyTtlMs < 3000) throw fail('plugin_key_ttl', 'must be at least 3s');
  if (obj.master_key_file !== undefined && (typeof obj.master_key_file !== 'string' || !obj.master_key_file))
    throw fail('master_key_file', 'must be a file path');
  for (const k of ['tls', 'insecure'] as const)
    if (obj[k] !== undefined && typeof obj[k] !== 'boolean') throw fail(k, 'must be true or false');
  const insecure = obj.insecure === true;
  const tls = typeof obj.tls === 'boolean' ? obj.tls : !isLoopback(listen.host);
  checkPlaintext({ host: listen.host, tls, insecure }, (field, msg) => fail(field, msg));
  const base = source.includes('/') ? dirname(resolve(source)) : process.cwd();
  return {
    home,
    ...(metricsListen ? { metricsListen } : {}),
    host: listen.host,
    port: listen.port,
    pluginPort: pluginListen.port,
    tunnelPort: tunnelListen.port,
    servicePort: serviceListen.port,
    database:
      process.env.SKYWAY_DATABASE_URL ?? (obj.database as string | undefined) ?? join(home, 'skyway.db'),
    addressPools: pools.map(String),
    plugins: plugins.map((p) => resolve(base, String(p))),
    namespaces,
    pollInterval,
    repairDrift,
    pluginKeyTtlMs,
    tls,
    insecure,
    ...(obj.master_key_file ? { masterKeyFile: resolve(base, String(obj.master_key_file)) } : {}),
    ...(obj.paraglider === undefined ? {} : { paraglider: parseParagliderConfig(obj.paraglider, source) }),
  };
}

export function loadConfig(file: string, home?: string): ControllerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw invalidArgument(`cannot read config file ${file}`, 'config');
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    throw invalidArgument(`${file}: not valid YAML (${(e as Error).message.split('\n')[0]})`, 'config');
  }
  return parseConfig(raw, file, home);
}
