// Permit-list rules as security-group rules. One Skyway rule becomes one AWS
// rule per target CIDR ("atom"): INBOUND as ingress, OUTBOUND as egress, the
// IANA protocol and destination port as AWS encodes them. The atom's
// description names the Skyway rule and its tags ("skyway:allow-ssh=bastion"),
// so the permit list reads back from AWS alone. AWS keeps one rule per
// protocol, ports and CIDR, so two Skyway rules that allow the same thing share
// an atom and its description lists both ("skyway:a=web;b=db").
import type { IpPermission, SecurityGroupRule } from '@aws-sdk/client-ec2';
import { Direction, formatCidr, invalidArgument, type PermitListRule, parseCidr } from '@skyway/plugin-sdk';

export interface Atom {
  egress: boolean;
  /** AWS's IpProtocol: "tcp", "udp", "icmp", "-1" or an IANA number. */
  protocol: string;
  fromPort: number;
  toPort: number;
  cidr: string;
  /** Skyway rule name -> its tags. */
  owners: Map<string, string[]>;
}

/** An atom as AWS holds it, with its rule id. */
export interface LiveAtom extends Atom {
  id: string;
  description: string;
}

const PREFIX = 'skyway:';
const DESCRIPTION_MAX = 255;
const NAMED: Record<number, string> = { 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmpv6' };
const NUMBERED: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58, '-1': -1, all: -1 };

export const protocolName = (p: number) => (p === -1 ? '-1' : (NAMED[p] ?? String(p)));
export const protocolNumber = (p: string | undefined) =>
  p === undefined ? -1 : (NUMBERED[p.toLowerCase()] ?? Number(p));
const hasPorts = (p: string) => p === 'tcp' || p === 'udp';

/** The permission an atom grants, without who owns it: what AWS compares rules by. */
export const permissionKey = (a: Pick<Atom, 'egress' | 'protocol' | 'fromPort' | 'toPort' | 'cidr'>) =>
  `${a.egress ? 'out' : 'in'} ${a.protocol} ${hasPorts(a.protocol) ? `${a.fromPort}-${a.toPort}` : a.protocol === '-1' ? '' : `${a.fromPort}/${a.toPort}`} ${a.cidr}`;

/** Checks what AWS cannot express; throws INVALID_ARGUMENT naming `<field>.<what>`. */
/** What may appear in a rule description besides the separators Skyway uses (";", "=", ","). */
const DESCRIBABLE = /^[A-Za-z0-9._:/@+-]+$/;

export function checkAwsRule(r: PermitListRule, field: string): void {
  if (!DESCRIBABLE.test(r.name)) {
    throw invalidArgument(
      `${field}.name "${r.name}" must be letters, digits and . _ : / @ + - on AWS`,
      `${field}.name`,
    );
  }
  r.tags.forEach((t, i) => {
    if (!DESCRIBABLE.test(t)) {
      throw invalidArgument(
        `${field}.tags[${i}] "${t}" must be letters, digits and . _ : / @ + - on AWS`,
        `${field}.tags[${i}]`,
      );
    }
  });
  if (r.srcPort !== -1) {
    throw invalidArgument(
      `${field}.src_port: AWS security groups match destination ports only; use -1 (any), got ${r.srcPort}`,
      `${field}.src_port`,
    );
  }
  if (r.dstPort !== -1 && r.protocol !== 6 && r.protocol !== 17) {
    throw invalidArgument(
      `${field}.dst_port: AWS takes a port only for TCP (6) and UDP (17), not protocol ${r.protocol}; use -1`,
      `${field}.dst_port`,
    );
  }
  if (r.dstPort === 0)
    throw invalidArgument(`${field}.dst_port: port 0 cannot be allowed on AWS`, `${field}.dst_port`);
  if (r.targets.length === 0) throw invalidArgument(`${field}.targets is empty`, `${field}.targets`);
  const text = encodeOwners(new Map([[r.name, r.tags]]));
  if (text.length > DESCRIPTION_MAX) {
    throw invalidArgument(
      `${field}.tags: the rule's name and tags take ${text.length} characters, AWS's rule description holds ${DESCRIPTION_MAX}`,
      `${field}.tags`,
    );
  }
}

/** The atoms of some rules, merged by permission. */
export function toAtoms(rules: PermitListRule[]): Map<string, Atom> {
  const out = new Map<string, Atom>();
  for (const r of rules) {
    const protocol = protocolName(r.protocol);
    const [fromPort, toPort] = hasPorts(protocol)
      ? r.dstPort === -1
        ? [0, 65535]
        : [r.dstPort, r.dstPort]
      : [-1, -1];
    for (const t of r.targets) {
      const cidr = formatCidr(parseCidr(t, 'target', { allowHostBits: true }));
      const a: Atom = {
        egress: r.direction === Direction.OUTBOUND,
        protocol,
        fromPort,
        toPort,
        cidr,
        owners: new Map(),
      };
      const key = permissionKey(a);
      const atom = out.get(key) ?? a;
      atom.owners.set(r.name, [...r.tags]);
      out.set(key, atom);
    }
  }
  return out;
}

export function encodeOwners(owners: Map<string, string[]>): string {
  const parts = [...owners.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, tags]) => (tags.length ? `${name}=${[...tags].sort().join(',')}` : name));
  return PREFIX + parts.join(';');
}

/** The Skyway rules named in a description, or undefined when it is not Skyway's. */
export function decodeOwners(description: string | undefined): Map<string, string[]> | undefined {
  if (!description?.startsWith(PREFIX)) return undefined;
  const out = new Map<string, string[]>();
  for (const part of description.slice(PREFIX.length).split(';')) {
    if (!part) continue;
    const [name, tags] = part.split('=', 2) as [string, string | undefined];
    out.set(name, tags ? tags.split(',') : []);
  }
  return out.size ? out : undefined;
}

/** The description an atom must carry. */
export const describeAtom = (a: Atom) => encodeOwners(a.owners);

/** AWS's view of a rule as an atom; undefined for what Skyway never makes (group references, IPv6, prefix lists). */
export function fromAws(r: SecurityGroupRule): LiveAtom | undefined {
  const owners = decodeOwners(r.Description);
  const cidr = r.CidrIpv4;
  const protocol =
    (r.IpProtocol ?? '-1').toLowerCase() === 'all' ? '-1' : (r.IpProtocol ?? '-1').toLowerCase();
  const base = {
    id: r.SecurityGroupRuleId ?? '',
    description: r.Description ?? '',
    egress: r.IsEgress === true,
    protocol,
    fromPort: r.FromPort ?? -1,
    toPort: r.ToPort ?? -1,
    cidr: cidr ? formatCidr(parseCidr(cidr, 'cidr', { allowHostBits: true })) : '',
    owners: owners ?? new Map(),
  };
  if (!cidr || r.ReferencedGroupInfo || r.PrefixListId || r.CidrIpv6) return { ...base, owners: new Map() };
  return base;
}

/** One line for people: what an AWS rule allows. */
export function describeAwsRule(a: LiveAtom, r?: SecurityGroupRule): string {
  const what =
    a.protocol === '-1'
      ? 'all traffic'
      : hasPorts(a.protocol)
        ? `${a.protocol} ${a.fromPort === a.toPort ? a.fromPort : `${a.fromPort}-${a.toPort}`}`
        : `protocol ${a.protocol}`;
  const peer = a.cidr || r?.CidrIpv6 || r?.PrefixListId || r?.ReferencedGroupInfo?.GroupId || '?';
  return `${a.egress ? 'egress' : 'ingress'} rule ${a.id}: ${what} ${a.egress ? 'to' : 'from'} ${peer}${a.description ? ` ("${a.description}")` : ''}`;
}

/** Rebuilds the Skyway rules from AWS's atoms: every atom contributes its CIDR to each rule it names. */
export function rulesFromAtoms(atoms: LiveAtom[]): { rules: PermitListRule[]; deviations: string[] } {
  const byName = new Map<string, PermitListRule & { keys: Set<string> }>();
  const deviations: string[] = [];
  for (const a of atoms) {
    if (!a.owners.size || !a.cidr) {
      deviations.push(`${describeAwsRule(a)} is not a Skyway rule`);
      continue;
    }
    for (const [name, tags] of a.owners) {
      const shape = `${a.egress} ${a.protocol} ${a.fromPort} ${a.toPort}`;
      const dstPort = hasPorts(a.protocol) ? (a.fromPort === 0 && a.toPort === 65535 ? -1 : a.fromPort) : -1;
      const seen = byName.get(name);
      if (!seen) {
        byName.set(name, {
          $typeName: 'skyway.plugin.v1.PermitListRule',
          name,
          targets: [a.cidr],
          direction: a.egress ? Direction.OUTBOUND : Direction.INBOUND,
          srcPort: -1,
          dstPort,
          protocol: protocolNumber(a.protocol),
          tags: [...tags].sort(),
          keys: new Set([shape]),
        });
        continue;
      }
      seen.targets.push(a.cidr);
      if (!seen.keys.has(shape)) {
        seen.keys.add(shape);
        deviations.push(`rule "${name}": ${describeAwsRule(a)} differs from the rule's other AWS rules`);
      }
      if (a.fromPort !== a.toPort && !(a.fromPort === 0 && a.toPort === 65535) && hasPorts(a.protocol)) {
        deviations.push(`rule "${name}": ${describeAwsRule(a)} allows a port range Skyway never makes`);
      }
    }
  }
  const rules = [...byName.values()].map(({ keys: _keys, ...r }) => ({
    ...r,
    targets: [...new Set(r.targets)].sort(),
  }));
  return { rules, deviations };
}

/** The IpPermissions that authorize some atoms (one entry per atom, each carrying its description). */
export const toIpPermissions = (atoms: Atom[]): IpPermission[] =>
  atoms.map((a) => ({
    IpProtocol: a.protocol,
    ...(a.protocol === '-1' ? {} : { FromPort: a.fromPort, ToPort: a.toPort }),
    IpRanges: [{ CidrIp: a.cidr, Description: describeAtom(a) }],
  }));
