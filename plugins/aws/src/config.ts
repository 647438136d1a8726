// The AWS cloud's config (the descriptor's default_config merged with the
// cloud's `config` in skyway.yaml). It never holds credentials: those come from
// the SDK's default provider chain (environment, shared profile, SSO, instance role).
import { invalidArgument } from '@skyway/plugin-sdk';

export interface AwsConfig {
  /** Regions this cloud may place resources in; the first is the default and holds the VPN gateway. */
  regions: string[];
  /** A profile of ~/.aws/config and ~/.aws/credentials (else AWS_PROFILE or "default"). */
  profile?: string;
  /** An AWS-compatible endpoint (moto, LocalStack); unset for AWS itself. */
  endpoint?: string;
  /** The ownership marker's value (tag skyway:managed-by): two controllers on one account set different ones. */
  owner: string;
  /** AWS's quota "inbound or outbound rules per security group" for this account (default 60). */
  rulesPerGroup: number;
  /** SDK attempts per call, retries included (throttling, 5xx); default 5. */
  maxAttempts: number;
  /** How long a waiter may wait (instance terminated, VPN connection deleted), seconds; default 600. */
  waitSeconds: number;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const OWNER = /^[A-Za-z0-9][A-Za-z0-9._:/=+@-]{0,62}$/;
const KNOWN = new Set([
  'region',
  'regions',
  'profile',
  'endpoint',
  'owner',
  'rules_per_group',
  'max_attempts',
  'wait_seconds',
]);
const SECRETS = /key|secret|token|password|credential/i;

const positive = (v: unknown, field: string, dflt: number, max: number): number => {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw invalidArgument(
      `config.${field} must be an integer 1-${max}, got ${JSON.stringify(v)}`,
      `config.${field}`,
    );
  }
  return v;
};

/** Validates the plugin config; every error names the field. */
export function parseAwsConfig(raw: Record<string, unknown>): AwsConfig {
  for (const k of Object.keys(raw)) {
    if (SECRETS.test(k)) {
      throw invalidArgument(
        `config.${k}: credentials never go into Skyway's config; use the environment, a profile, SSO or an instance role`,
        `config.${k}`,
      );
    }
    if (!KNOWN.has(k)) {
      throw invalidArgument(
        `config.${k} is not a known field (known: ${[...KNOWN].join(', ')})`,
        `config.${k}`,
      );
    }
  }
  const list = raw.regions ?? (raw.region === undefined ? undefined : [raw.region]);
  if (!Array.isArray(list) || list.length === 0) {
    throw invalidArgument('config.regions must list at least one region, e.g. [us-east-1]', 'config.regions');
  }
  const regions = list.map((r, i) => {
    if (typeof r !== 'string' || !REGION.test(r)) {
      throw invalidArgument(
        `config.regions[${i}] "${String(r)}" is not an AWS region name (e.g. us-east-1)`,
        `config.regions[${i}]`,
      );
    }
    return r;
  });
  if (new Set(regions).size !== regions.length)
    throw invalidArgument('config.regions lists a region twice', 'config.regions');
  const str = (k: string) => {
    const v = raw[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '')
      throw invalidArgument(`config.${k} must be a non-empty string`, `config.${k}`);
    return v;
  };
  const endpoint = str('endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+\/?$/.test(endpoint)) {
    throw invalidArgument(
      `config.endpoint "${endpoint}" must be an http(s)://host:port URL`,
      'config.endpoint',
    );
  }
  const owner = str('owner') ?? 'skyway';
  if (!OWNER.test(owner))
    throw invalidArgument(`config.owner "${owner}" must be 1-63 tag-safe characters`, 'config.owner');
  const cfg: AwsConfig = {
    regions,
    owner,
    rulesPerGroup: positive(raw.rules_per_group, 'rules_per_group', 60, 1000),
    maxAttempts: positive(raw.max_attempts, 'max_attempts', 5, 20),
    waitSeconds: positive(raw.wait_seconds, 'wait_seconds', 600, 3600),
  };
  const profile = str('profile');
  if (profile) cfg.profile = profile;
  if (endpoint) cfg.endpoint = endpoint.replace(/\/$/, '');
  return cfg;
}
