// IPv4 addresses and CIDR prefixes as plain numbers (uint32 base + prefix
// length): cheap to compare, sort and align, which IPAM relies on.
import { invalidArgument } from './errors.js';

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  /** Prefix length, 0-32. */
  prefix: number;
}

// Leading zeros are rejected: some parsers read "010" as octal.
const OCTET = /^(0|[1-9]\d{0,2})$/;

function tryParseIp(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

const bad = (s: string, field: string, why: string) =>
  invalidArgument(`${field} "${s}" ${why}`, field, 'INVALID_CIDR');

export function parseIp(s: string, field = 'ip'): number {
  const n = typeof s === 'string' ? tryParseIp(s) : undefined;
  if (n === undefined) throw bad(String(s), field, 'is not an IPv4 address (expected a.b.c.d)');
  return n;
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The netmask of a prefix length as uint32. */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export interface ParseCidrOptions {
  /** Accept "10.0.0.1/8" as 10.0.0.0/8 (for addresses reported by clouds, not for user input). */
  allowHostBits?: boolean;
}

/** Parses "a.b.c.d/n" or a plain address (as /32). */
export function parseCidr(s: string, field = 'cidr', opts: ParseCidrOptions = {}): Cidr {
  if (typeof s !== 'string') throw bad(String(s), field, 'is not a string');
  const slash = s.indexOf('/');
  const ipPart = slash < 0 ? s : s.slice(0, slash);
  const ip = tryParseIp(ipPart);
  if (ip === undefined) throw bad(s, field, 'is not an IPv4 address or CIDR (expected a.b.c.d or a.b.c.d/n)');
  let prefix = 32;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^(0|[1-9]\d?)$/.test(p) || Number(p) > 32) throw bad(s, field, 'has a prefix length outside 0-32');
    prefix = Number(p);
  }
  const base = (ip & prefixMask(prefix)) >>> 0;
  if (base !== ip && !opts.allowHostBits) {
    throw bad(s, field, `has host bits set; did you mean ${formatCidr({ base, prefix })}?`);
  }
  return { base, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

export function isIpOrCidr(s: string): boolean {
  try {
    parseCidr(s);
    return true;
  } catch {
    return false;
  }
}

/** Canonical CIDR form of an address or prefix: "10.0.0.1" -> "10.0.0.1/32". */
export function normalizeTarget(s: string, field = 'target'): string {
  return formatCidr(parseCidr(s, field));
}

const toCidr = (c: Cidr | string): Cidr => (typeof c === 'string' ? parseCidr(c) : c);

export function cidrSize(c: Cidr | string): number {
  return 2 ** (32 - toCidr(c).prefix);
}

/** Last address of the prefix. */
export function cidrEnd(c: Cidr): number {
  return c.base + 2 ** (32 - c.prefix) - 1;
}

export function cidrContains(outer: Cidr | string, inner: Cidr | string): boolean {
  const o = toCidr(outer);
  const i = toCidr(inner);
  return i.prefix >= o.prefix && (i.base & prefixMask(o.prefix)) >>> 0 === o.base;
}

// Two prefixes overlap exactly when the shorter one contains the longer.
export function cidrsOverlap(a: Cidr | string, b: Cidr | string): boolean {
  const x = toCidr(a);
  const y = toCidr(b);
  return x.prefix <= y.prefix ? cidrContains(x, y) : cidrContains(y, x);
}

/** Numeric order: by base address, then shorter prefix first. */
export function compareCidrs(a: Cidr, b: Cidr): number {
  return a.base - b.base || a.prefix - b.prefix;
}
