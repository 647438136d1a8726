// Overlay IP ranges: where overlay IPs (OIPs) come from. SCC's `subnet` is an
// address whose last octet is replaced by `minIp`..`maxIp` (1-255); Skyway
// also takes any CIDR, with `minIp`/`maxIp` as offsets from its network
// address (default: the whole prefix but the network and broadcast
// addresses). Ranges are inclusive [first, last] intervals of uint32s.
import { cidrSize, formatCidr, formatIp, parseCidr } from './cidr.js';
import { failedPrecondition, invalidArgument } from './errors.js';

export interface IpRangeSpec {
  subnet: string;
  minIp?: number;
  maxIp?: number;
}

export interface IpRange {
  name: string;
  /** The prefix the range lies in (SCC-style subnets are their /24). */
  cidr: string;
  first: number;
  last: number;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Validates an iprange spec; errors name the field (`spec.subnet`, `spec.minIp`, `spec.maxIp`). */
export function parseIpRange(name: string, spec: IpRangeSpec): IpRange {
  const field = (f: string) => `spec.${f}`;
  if (typeof spec?.subnet !== 'string' || spec.subnet === '') {
    throw invalidArgument(
      'spec.subnet is required (an IPv4 address or CIDR)',
      field('subnet'),
      'VALIDATION_FAILED',
    );
  }
  for (const k of ['minIp', 'maxIp'] as const) {
    if (spec[k] !== undefined && !isInt(spec[k])) {
      throw invalidArgument(`spec.${k} must be an integer`, field(k), 'VALIDATION_FAILED');
    }
  }
  let base: number;
  let size: number;
  let min: number;
  let max: number;
  if (!spec.subnet.includes('/')) {
    // SCC: only the last octet varies, 1-255.
    const ip = parseCidr(spec.subnet, field('subnet')).base;
    base = (ip & 0xffffff00) >>> 0;
    size = 256;
    min = spec.minIp ?? 1;
    max = spec.maxIp ?? 255;
    for (const k of ['minIp', 'maxIp'] as const) {
      const v = k === 'minIp' ? min : max;
      if (v < 1 || v > 255) {
        throw invalidArgument(
          `spec.${k} ${v} is outside 1-255 (the last octet of ${spec.subnet})`,
          field(k),
          'VALIDATION_FAILED',
        );
      }
    }
  } else {
    const c = parseCidr(spec.subnet, field('subnet'));
    base = c.base;
    size = cidrSize(c);
    const inner = size > 2;
    min = spec.minIp ?? (inner ? 1 : 0);
    max = spec.maxIp ?? (inner ? size - 2 : size - 1);
    for (const k of ['minIp', 'maxIp'] as const) {
      const v = k === 'minIp' ? min : max;
      if (v < 0 || v > size - 1) {
        throw invalidArgument(
          `spec.${k} ${v} is outside 0-${size - 1} (the host offsets of ${spec.subnet})`,
          field(k),
          'VALIDATION_FAILED',
        );
      }
    }
  }
  if (min > max) {
    throw invalidArgument(
      `spec.minIp ${min} is greater than spec.maxIp ${max}`,
      field('minIp'),
      'VALIDATION_FAILED',
    );
  }
  const prefix = 32 - Math.log2(size);
  return { name, cidr: formatCidr({ base, prefix }), first: base + min, last: base + max };
}

export const rangesOverlap = (a: IpRange, b: IpRange) => a.first <= b.last && b.first <= a.last;

/** Throws ADDRESS_OVERLAP naming the first range of `others` that `range` overlaps. */
export function checkNoOverlap(range: IpRange, others: Iterable<IpRange & { owner?: string }>): void {
  for (const o of others) {
    if (rangesOverlap(range, o)) {
      throw failedPrecondition(
        `ip range "${range.name}" (${formatIp(range.first)}-${formatIp(range.last)}) overlaps ${o.owner ?? 'ip range'} "${o.name}" (${formatIp(o.first)}-${formatIp(o.last)})`,
        'ADDRESS_OVERLAP',
      );
    }
  }
}

/** The first address of `ranges` (in their order) not in `used`, or undefined when all are taken. */
export function allocateFirstFit(ranges: readonly IpRange[], used: ReadonlySet<string>): string | undefined {
  for (const r of ranges) {
    for (let n = r.first; n <= r.last; n++) {
      const ip = formatIp(n);
      if (!used.has(ip)) return ip;
    }
  }
  return undefined;
}

/** Whether `ip` lies in one of `ranges`. */
export function inRanges(ranges: readonly IpRange[], ip: number): boolean {
  return ranges.some((r) => ip >= r.first && ip <= r.last);
}

export const MIN_PROXY_PORT = 10000;
export const MAX_PROXY_PORT = 16000;

/** The lowest free proxy port of a hub (SCC's 10000-16000). */
export function allocateProxyPort(used: ReadonlySet<number>): number | undefined {
  for (let p = MIN_PROXY_PORT; p <= MAX_PROXY_PORT; p++) if (!used.has(p)) return p;
  return undefined;
}
