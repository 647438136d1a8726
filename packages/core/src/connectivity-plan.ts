// Planning a cloud-to-cloud connection: which ASN each side's VPN gateway
// gets and which link-local addresses each BGP session uses. Pure: the
// controller gathers what is in use from every plugin and applies the plan.
import { failedPrecondition, invalidArgument } from './errors.js';
import { allocateAsn, allocateBgpPeering } from './ipam.js';

export const MAX_TUNNELS = 4;

export interface ConnectivityPlanInput {
  cloudA: string;
  cloudB: string;
  /** ASNs in use on any cloud. */
  usedAsns: Iterable<number>;
  /** BGP peering addresses (or prefixes) in use on any cloud. */
  usedBgpPeeringIps: readonly string[];
  /** The ASN side a's gateway already has, if it exists; otherwise one is allocated. */
  asnA?: number;
  /** Likewise for side b. */
  asnB?: number;
  /** Tunnels (one BGP session each), 1-4; default 1. */
  tunnels?: number;
  /** Take the /30s from the range an AWS tunnel facing Azure must use. */
  awsRange?: boolean;
}

export interface CloudSidePlan {
  cloud: string;
  asn: number;
  /** Entry i is this side's address on tunnel i. */
  bgpPeeringIps: string[];
}

export interface ConnectivityPlan {
  a: CloudSidePlan;
  b: CloudSidePlan;
  tunnels: number;
  /** Entry i is the /30 of tunnel i: side a holds its .1, side b its .2. */
  networks: string[];
}

export function planConnectivity(input: ConnectivityPlanInput): ConnectivityPlan {
  const { cloudA, cloudB, tunnels = 1 } = input;
  for (const [cloud, field] of [
    [cloudA, 'cloudA'],
    [cloudB, 'cloudB'],
  ] as const) {
    if (typeof cloud !== 'string' || cloud === '') throw invalidArgument(`${field} must name a cloud`, field);
  }
  if (cloudA === cloudB) throw invalidArgument(`cannot connect cloud "${cloudA}" to itself`, 'cloudB');
  if (!Number.isInteger(tunnels) || tunnels < 1 || tunnels > MAX_TUNNELS) {
    throw invalidArgument(
      `tunnels must be an integer 1-${MAX_TUNNELS}, got ${JSON.stringify(tunnels)}`,
      'tunnels',
    );
  }
  // eBGP between the two gateways needs two different ASNs.
  if (input.asnA !== undefined && input.asnA === input.asnB) {
    throw failedPrecondition(`the gateways of "${cloudA}" and "${cloudB}" both have ASN ${input.asnA}`);
  }

  const usedAsns = new Set(input.usedAsns);
  const asnFor = (existing: number | undefined) => {
    const asn = existing ?? allocateAsn(usedAsns);
    usedAsns.add(asn);
    return asn;
  };
  // Existing ASNs go in first so that the allocated one cannot collide with them.
  if (input.asnA !== undefined) usedAsns.add(input.asnA);
  if (input.asnB !== undefined) usedAsns.add(input.asnB);
  const a: CloudSidePlan = { cloud: cloudA, asn: asnFor(input.asnA), bgpPeeringIps: [] };
  const b: CloudSidePlan = { cloud: cloudB, asn: asnFor(input.asnB), bgpPeeringIps: [] };

  const usedIps = [...input.usedBgpPeeringIps];
  const networks: string[] = [];
  for (let i = 0; i < tunnels; i++) {
    const peering = allocateBgpPeering(usedIps, { awsRange: input.awsRange });
    usedIps.push(peering.network);
    networks.push(peering.network);
    a.bgpPeeringIps.push(peering.a);
    b.bgpPeeringIps.push(peering.b);
  }
  return { a, b, tunnels, networks };
}
