// Permit-list rules: validation and normalization of what a client sends,
// independent of REST or gRPC. Field names follow Paraglider's PermitListRule.

import { normalizeTarget } from './cidr.js';
import { invalidArgument } from './errors.js';
import { validateTagRef } from './tags.js';

export type Direction = 'INBOUND' | 'OUTBOUND';

/** A rule as it arrives in a JSON request (proto field names). */
export interface RuleInput {
  name: string;
  /**
   * Ignored: the controller fills targets by resolving `tags`, so a client
   * cannot point a rule at addresses its tags do not stand for.
   */
  targets?: string[];
  /** 0 or "INBOUND", 1 or "OUTBOUND" (case-insensitive). */
  direction: Direction | number | string;
  /** -1 (any) when absent. */
  src_port?: number;
  /** -1 (any) when absent. */
  dst_port?: number;
  /** IANA protocol number, or -1 for any. */
  protocol: number;
  /** Tag names or IP/CIDR literals naming the remote endpoints. */
  tags: string[];
}

export interface Rule {
  name: string;
  direction: Direction;
  srcPort: number;
  dstPort: number;
  protocol: number;
  /** Normalized tag references (literals as CIDRs), without duplicates. */
  tags: string[];
  /** Resolved CIDRs; empty until the controller resolves `tags`. */
  targets: string[];
}

export const ANY = -1;
export const PROTOCOL = { ICMP: 1, TCP: 6, UDP: 17, SCTP: 132 } as const;
// Only these protocols have ports; a port on any other would be silently meaningless.
const PORTED = new Set<number>([PROTOCOL.TCP, PROTOCOL.UDP, PROTOCOL.SCTP]);

const RULE_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const RULE_NAME_MAX = 63;

export function parseDirection(v: unknown, field = 'direction'): Direction {
  if (v === 0) return 'INBOUND';
  if (v === 1) return 'OUTBOUND';
  if (typeof v === 'string') {
    const up = v.toUpperCase();
    if (up === 'INBOUND' || up === 'OUTBOUND') return up;
  }
  throw invalidArgument(`${field} must be INBOUND (0) or OUTBOUND (1), got ${JSON.stringify(v)}`, field);
}

function integerIn(v: unknown, min: number, max: number, field: string, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || (v !== ANY && (v < min || v > max))) {
    throw invalidArgument(
      `${field} must be -1 (any) or an integer ${what} ${min}-${max}, got ${JSON.stringify(v)}`,
      field,
    );
  }
  return v;
}

function validateRuleName(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length > RULE_NAME_MAX || !RULE_NAME.test(v)) {
    throw invalidArgument(
      `${field} must be 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit, got ${JSON.stringify(v)}`,
      field,
    );
  }
  return v;
}

/** Validates one rule; `fieldPrefix` (say `rules[2]`) prefixes every field named in an error. */
export function validateRule(input: RuleInput, fieldPrefix = 'rule'): Rule {
  const f = (name: string) => `${fieldPrefix}.${name}`;
  if (typeof input !== 'object' || input === null)
    throw invalidArgument(`${fieldPrefix} must be an object`, fieldPrefix);
  const name = validateRuleName(input.name, f('name'));
  const direction = parseDirection(input.direction, f('direction'));
  const protocol = integerIn(input.protocol, 0, 255, f('protocol'), 'protocol number');
  // Only an absent port means any; null is rejected rather than guessed at.
  const srcPort = integerIn(
    input.src_port === undefined ? ANY : input.src_port,
    0,
    65535,
    f('src_port'),
    'port',
  );
  const dstPort = integerIn(
    input.dst_port === undefined ? ANY : input.dst_port,
    0,
    65535,
    f('dst_port'),
    'port',
  );
  if (!PORTED.has(protocol)) {
    for (const [port, key] of [
      [srcPort, 'src_port'],
      [dstPort, 'dst_port'],
    ] as const) {
      if (port !== ANY) {
        throw invalidArgument(
          `${f(key)} must be -1 unless protocol is 6 (TCP), 17 (UDP) or 132 (SCTP)`,
          f(key),
        );
      }
    }
  }
  if (!Array.isArray(input.tags) || input.tags.length === 0) {
    throw invalidArgument(
      `${f('tags')} must be a non-empty list of tag names or IP/CIDR literals`,
      f('tags'),
    );
  }
  const tags = [...new Set(input.tags.map((t, i) => validateTagRef(t, `${f('tags')}[${i}]`)))];
  return { name, direction, srcPort, dstPort, protocol, tags, targets: [] };
}

/** Validates the rules of one request; names must be unique within it. */
export function validateRules(inputs: RuleInput[], field = 'rules'): Rule[] {
  if (!Array.isArray(inputs)) throw invalidArgument(`${field} must be a list of rules`, field);
  const firstIndex = new Map<string, number>();
  return inputs.map((input, i) => {
    const rule = validateRule(input, `${field}[${i}]`);
    const prev = firstIndex.get(rule.name);
    if (prev !== undefined) {
      throw invalidArgument(
        `${field}[${i}].name "${rule.name}" is already used by ${field}[${prev}]; rule names must be unique`,
        `${field}[${i}].name`,
      );
    }
    firstIndex.set(rule.name, i);
    return rule;
  });
}

// Room left for the longest helper prefix ("ping-") in a 63-character name.
const SLUG_MAX = RULE_NAME_MAX - 'ping-'.length;

/**
 * A rule-name fragment for a tag: lowercase, other characters as hyphens.
 * Long slugs are cut and get a hash suffix so that distinct long tags stay distinct.
 */
export function ruleSlug(tag: string): string {
  const slug =
    tag
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'x';
  if (slug.length <= SLUG_MAX) return slug;
  return `${slug.slice(0, SLUG_MAX - 9).replace(/-+$/, '')}-${fnv1a(tag).toString(16).padStart(8, '0')}`;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** `skyway rule add --ping <tag>`: let the tag ping this resource. */
export function pingRule(tag: string): RuleInput {
  return {
    name: `ping-${ruleSlug(tag)}`,
    direction: 'INBOUND',
    protocol: PROTOCOL.ICMP,
    src_port: ANY,
    dst_port: ANY,
    tags: [tag],
  };
}

/** `skyway rule add --ssh <tag>`: let the tag reach this resource's SSH port. */
export function sshRule(tag: string): RuleInput {
  return {
    name: `ssh-${ruleSlug(tag)}`,
    direction: 'INBOUND',
    protocol: PROTOCOL.TCP,
    src_port: ANY,
    dst_port: 22,
    tags: [tag],
  };
}

/** What a cloud's permit list lacks, has too much of, or has differently, by rule name. */
export interface PermitListDrift {
  missing: string[];
  extra: string[];
  changed: string[];
  /** The cloud does not filter the resource at all (its default deny is gone). */
  unfiltered?: boolean;
  /** What else the cloud enforces that no rule accounts for (a rule added by hand, ...), for people. */
  deviations?: string[];
}

type Enforced = Pick<Rule, 'name' | 'direction' | 'srcPort' | 'dstPort' | 'protocol' | 'targets'>;

const enforcedForm = (r: Enforced) =>
  JSON.stringify([
    r.direction,
    r.srcPort,
    r.dstPort,
    r.protocol,
    [...new Set(r.targets.map((t) => normalizeTarget(t)))].sort(),
  ]);

/**
 * Compares desired rules with the rules a cloud reports. Only what the cloud
 * enforces counts (direction, ports, protocol, targets in any spelling); tags
 * are the controller's bookkeeping and a cloud need not keep them.
 */
export function diffPermitList(desired: Enforced[], actual: Enforced[]): PermitListDrift {
  const have = new Map(actual.map((r) => [r.name, enforcedForm(r)]));
  const want = new Set(desired.map((r) => r.name));
  const drift: PermitListDrift = { missing: [], extra: [], changed: [] };
  for (const r of desired) {
    const live = have.get(r.name);
    if (live === undefined) drift.missing.push(r.name);
    else if (live !== enforcedForm(r)) drift.changed.push(r.name);
  }
  for (const name of have.keys()) if (!want.has(name)) drift.extra.push(name);
  return drift;
}

export const hasDrift = (d: PermitListDrift) =>
  d.unfiltered === true ||
  d.missing.length + d.extra.length + d.changed.length + (d.deviations?.length ?? 0) > 0;
