// Address management: VPC prefixes, BGP ASNs and BGP peering /30s. Pure
// functions over what is in use; the controller gathers `used` from every
// plugin and persists the result.
import { type Cidr, cidrEnd, formatCidr, formatIp, parseCidr } from './cidr.js';
import { failedPrecondition, invalidArgument } from './errors.js';

/** An inclusive address range. */
interface Span {
  start: number;
  end: number;
}

/**
 * Occupied address space as sorted, disjoint spans, so that finding the first
 * free block is a binary search plus a sweep over the spans it must skip.
 */
class Occupied {
  private readonly spans: Span[] = [];

  constructor(cidrs: Cidr[]) {
    const sorted = cidrs.map((c) => ({ start: c.base, end: cidrEnd(c) })).sort((a, b) => a.start - b.start);
    for (const s of sorted) {
      const last = this.spans.at(-1);
      if (last && s.start <= last.end + 1) last.end = Math.max(last.end, s.end);
      else this.spans.push(s);
    }
  }

  /** Index of the first span ending at or after `addr`. */
  private indexFrom(addr: number): number {
    let lo = 0;
    let hi = this.spans.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.spans[mid].end < addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The lowest free block of the given prefix length inside `pool`, aligned to its size. */
  firstFree(pool: Cidr, prefix: number): Cidr | undefined {
    if (prefix < pool.prefix) return undefined;
    const size = 2 ** (32 - prefix);
    const poolEnd = cidrEnd(pool);
    let base = pool.base;
    let i = this.indexFrom(base);
    while (base + size - 1 <= poolEnd) {
      const span: Span | undefined = this.spans[i];
      if (!span || span.start > base + size - 1) return { base, prefix };
      base = Math.ceil((span.end + 1) / size) * size;
      while (i < this.spans.length && this.spans[i].end < base) i++;
    }
    return undefined;
  }

  /** Records a block that overlaps nothing recorded (as returned by firstFree). */
  add(c: Cidr): void {
    this.spans.splice(this.indexFrom(c.base), 0, { start: c.base, end: cidrEnd(c) });
  }
}

export const DEFAULT_POOLS: readonly string[] = ['10.0.0.0/8'];

export interface AllocatePrefixesInput {
  /** Where to allocate from, in order of preference. Default 10.0.0.0/8. */
  pools?: readonly string[];
  /** Prefixes or addresses already taken anywhere (host bits are ignored). */
  used: readonly string[];
  /** Prefix lengths to allocate, one prefix each. */
  sizes: readonly number[];
}

/**
 * For each requested prefix length, in order: the lowest free aligned prefix
 * in the first pool that has one, overlapping nothing used nor allocated
 * earlier in this call.
 */
export function allocatePrefixes({ pools = DEFAULT_POOLS, used, sizes }: AllocatePrefixesInput): string[] {
  const poolCidrs = pools.map((p, i) => parseCidr(p, `pools[${i}]`));
  const occupied = new Occupied(used.map((u, i) => parseCidr(u, `used[${i}]`, { allowHostBits: true })));
  return sizes.map((prefix, i) => {
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) {
      throw invalidArgument(
        `sizes[${i}] must be a prefix length 0-32, got ${JSON.stringify(prefix)}`,
        `sizes[${i}]`,
      );
    }
    for (const pool of poolCidrs) {
      const found = occupied.firstFree(pool, prefix);
      if (found) {
        occupied.add(found);
        return formatCidr(found);
      }
    }
    throw failedPrecondition(`no free /${prefix} prefix left in ${pools.join(', ')}`, 'POOL_EXHAUSTED');
  });
}

export type AsnRange = readonly [first: number, last: number];

// Private-use ASNs (RFC 6996), without 65535 and 4294967295 (reserved, RFC 7300).
// 2-byte first: every BGP speaker supports those.
export const PRIVATE_ASN_RANGES: readonly AsnRange[] = [
  [64512, 65534],
  [4200000000, 4294967294],
];

/**
 * The lowest ASN not in `used`, from `ranges` in order (an operator may narrow
 * them to keep clear of ASNs used on premises).
 */
export function allocateAsn(
  used: Iterable<number>,
  ranges: readonly AsnRange[] = PRIVATE_ASN_RANGES,
): number {
  const taken = new Set(used);
  for (const [first, last] of ranges) {
    // Stops within |taken| + 1 steps, so the size of the 4-byte range does not matter.
    for (let asn = first; asn <= last; asn++) if (!taken.has(asn)) return asn;
  }
  const names = ranges.map(([first, last]) => `${first}-${last}`).join(', ');
  throw failedPrecondition(`no free ASN left in ${names}`, 'POOL_EXHAUSTED');
}

const PEERING_POOL: readonly string[] = ['169.254.0.0/16'];
// The only APIPA addresses Azure VPN gateways accept for BGP. An AWS tunnel
// facing Azure must take its inside /30 from here, hence the option's name.
const AWS_AZURE_PEERING_POOL: readonly string[] = ['169.254.21.0/24', '169.254.22.0/24'];
const PEERING_RESERVED = [
  // RFC 3927 section 2.1 reserves the first and last /24 of 169.254/16.
  '169.254.0.0/24',
  '169.254.255.0/24',
  // AWS rejects these as tunnel inside CIDRs; skipping them keeps every /30 usable on AWS.
  '169.254.1.0/30',
  '169.254.2.0/30',
  '169.254.3.0/30',
  '169.254.4.0/30',
  '169.254.5.0/30',
  // Holds 169.254.169.254, the metadata service on every major cloud.
  '169.254.169.252/30',
];

export interface BgpPeering {
  /** The /30 of the point-to-point link. */
  network: string;
  /** Side a: the first host address (.1 of the /30). */
  a: string;
  /** Side b: the second host address (.2 of the /30). */
  b: string;
}

export interface BgpPeeringOptions {
  /** Allocate from 169.254.21.0-169.254.22.255 (AWS tunnels that face Azure). */
  awsRange?: boolean;
}

/** A link-local /30 for one BGP session, containing no used address. */
export function allocateBgpPeering(used: readonly string[], opts: BgpPeeringOptions = {}): BgpPeering {
  const pools = opts.awsRange ? AWS_AZURE_PEERING_POOL : PEERING_POOL;
  const occupied = new Occupied([
    ...PEERING_RESERVED.map((r) => parseCidr(r)),
    ...used.map((u, i) => parseCidr(u, `used[${i}]`, { allowHostBits: true })),
  ]);
  for (const pool of pools) {
    const found = occupied.firstFree(parseCidr(pool), 30);
    if (found)
      return { network: formatCidr(found), a: formatIp(found.base + 1), b: formatIp(found.base + 2) };
  }
  throw failedPrecondition(`no free BGP peering /30 left in ${pools.join(', ')}`, 'POOL_EXHAUSTED');
}
