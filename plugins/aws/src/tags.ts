// Skyway's ownership marker: every object the plugin makes carries these tags,
// and every lookup filters on them, so ListResources, GetUsed* and cleanup find
// exactly what this cloud of this controller made, and nothing else.
import type { Filter, Tag, TagSpecification } from '@aws-sdk/client-ec2';

export const TAG = {
  managedBy: 'skyway:managed-by',
  cloud: 'skyway:cloud',
  namespace: 'skyway:namespace',
  deployment: 'skyway:deployment',
  role: 'skyway:role',
  name: 'skyway:name',
  /** On a VPN gateway, one per remote cloud: its BGP peering addresses (space separated). */
  remotePrefix: 'skyway:remote:',
  /** On customer gateways and VPN connections: the remote cloud they face. */
  remote: 'skyway:remote-cloud',
  /** On customer gateways and VPN connections: the remote gateway address. */
  remoteIp: 'skyway:remote-ip',
  /** On VPN connections: the tunnel inside CIDRs asked for (space separated), and a digest of the key. */
  insideCidrs: 'skyway:inside-cidrs',
  keyDigest: 'skyway:key-digest',
  /** On VPC peerings: the two regions. */
  peer: 'skyway:peer',
} as const;

export type Role =
  | 'vpc'
  | 'subnet'
  | 'route-table'
  | 'instance'
  | 'security-group'
  | 'vpn-gateway'
  | 'customer-gateway'
  | 'vpn-connection'
  | 'peering'
  | 'rule';

export interface Owner {
  owner: string;
  cloud: string;
}

export const ownerTags = (o: Owner, extra: Record<string, string> = {}): Tag[] =>
  Object.entries({ [TAG.managedBy]: o.owner, [TAG.cloud]: o.cloud, ...extra }).map(([Key, Value]) => ({
    Key,
    Value,
  }));

export const tagSpec = (type: string, o: Owner, extra: Record<string, string> = {}): TagSpecification => ({
  ResourceType: type as TagSpecification['ResourceType'],
  Tags: ownerTags(o, extra),
});

/** Filters that select this owner's objects (optionally of one role, with more tag values). */
export const ownerFilters = (o: Owner, extra: Record<string, string> = {}): Filter[] =>
  Object.entries({ [TAG.managedBy]: o.owner, [TAG.cloud]: o.cloud, ...extra }).map(([k, v]) => ({
    Name: `tag:${k}`,
    Values: [v],
  }));

export const tagMap = (tags: Tag[] | undefined): Record<string, string> =>
  Object.fromEntries((tags ?? []).filter((t) => t.Key).map((t) => [t.Key!, t.Value ?? '']));
