// Cross-cloud VPN on AWS: a virtual private gateway attached to the
// namespace's VPC in the first configured region, with the Amazon-side ASN the
// controller allocated and route propagation into the VPC's route table; per
// remote gateway address a customer gateway (remote ASN) and a Site-to-Site VPN
// connection with BGP, both tunnels, the shared key and the tunnel inside CIDRs
// the controller allocated.
//
// Why a virtual private gateway and not a transit gateway: Skyway has one VPC
// per namespace and region, which is what a VGW serves; it costs nothing
// beyond the VPN connections (a transit gateway bills every attachment hour),
// and its route propagation puts the routes learned over BGP straight into the
// VPC's route table. A VGW has one ASN for all its remote clouds, so a second
// remote cloud peers with the ASN the gateway already has (CreateVpnGateway
// answers with it).
import { createHash } from 'node:crypto';
import {
  AttachVpnGatewayCommand,
  CreateCustomerGatewayCommand,
  CreateTagsCommand,
  CreateVpnConnectionCommand,
  CreateVpnGatewayCommand,
  type CustomerGateway,
  DeleteCustomerGatewayCommand,
  DeleteTagsCommand,
  DeleteVpnConnectionCommand,
  DeleteVpnGatewayCommand,
  DescribeCustomerGatewaysCommand,
  DescribeVpnConnectionsCommand,
  DescribeVpnGatewaysCommand,
  DetachVpnGatewayCommand,
  type EC2Client,
  EnableVgwRoutePropagationCommand,
  type VpnConnection,
  type VpnGateway,
  waitUntilVpnConnectionDeleted,
} from '@aws-sdk/client-ec2';
import {
  type ControllerClient,
  cidrContains,
  failedPrecondition,
  formatCidr,
  formatIp,
  invalidArgument,
  parseCidr,
  parseIp,
} from '@skyway/plugin-sdk';
import { XMLParser } from 'fast-xml-parser';
import type { AwsConfig } from './config.js';
import { awsError, isCode, isNotFound, isUnsupported } from './errors.js';
import type { Network } from './network.js';
import { type Owner, ownerFilters, TAG, tagMap, tagSpec } from './tags.js';

/** What AWS refuses as tunnel inside CIDRs (besides anything outside 169.254.0.0/16). */
export const AWS_REFUSED_INSIDE_CIDRS = [
  '169.254.0.0/30',
  '169.254.1.0/30',
  '169.254.2.0/30',
  '169.254.3.0/30',
  '169.254.4.0/30',
  '169.254.5.0/30',
  '169.254.169.252/30',
];
const LINK_LOCAL = parseCidr('169.254.0.0/16');
const LIVE = (s: string | undefined) => s !== 'deleted' && s !== 'deleting';
/** AWS's pre-shared key rules: 8-64 of letters, digits, '.' and '_', not starting with 0. */
const PSK = /^[A-Za-z1-9._][A-Za-z0-9._]{7,63}$/;

const remoteTag = (cloud: string) => `${TAG.remotePrefix}${cloud}`;
const digest = (key: string) =>
  createHash('sha256').update(`skyway-psk\u0000${key}`).digest('hex').slice(0, 16);

/** Checks one side's address: a host of a /30 AWS accepts as a tunnel inside CIDR; returns that /30. */
export function insideCidr(ip: string, field: string, host: 1 | 2): string {
  const addr = ip.replace(/\/\d+$/, '');
  const n = parseIp(addr, field);
  const base = (n & ~3) >>> 0;
  const cidr = `${formatIp(base)}/30`;
  if (!cidrContains(LINK_LOCAL, parseCidr(cidr))) {
    throw invalidArgument(`${field} ${addr}: AWS tunnel inside CIDRs are /30s inside 169.254.0.0/16`, field);
  }
  if (AWS_REFUSED_INSIDE_CIDRS.includes(cidr)) {
    throw invalidArgument(`${field} ${addr}: AWS refuses ${cidr} as a tunnel inside CIDR`, field);
  }
  if ((n & 3) !== host) {
    throw invalidArgument(
      `${field} ${addr}: AWS takes the first address of a tunnel's /30 (.${(base & 255) + 1}) and the remote side the second (.${(base & 255) + 2})`,
      field,
    );
  }
  return cidr;
}

const xml = new XMLParser({ ignoreAttributes: true, isArray: (name) => name === 'ipsec_tunnel' });

/** AWS's tunnel outside addresses, in tunnel order: from the tunnel options, the telemetry, or the customer gateway configuration. */
export function outsideIps(c: VpnConnection): string[] {
  const fromOptions = (c.Options?.TunnelOptions ?? [])
    .map((t) => t.OutsideIpAddress)
    .filter((x): x is string => !!x);
  if (fromOptions.length) return fromOptions;
  const fromTelemetry = (c.VgwTelemetry ?? []).map((t) => t.OutsideIpAddress).filter((x): x is string => !!x);
  if (fromTelemetry.length) return fromTelemetry;
  if (!c.CustomerGatewayConfiguration) return [];
  const doc = xml.parse(c.CustomerGatewayConfiguration) as {
    vpn_connection?: {
      ipsec_tunnel?: { vpn_gateway?: { tunnel_outside_address?: { ip_address?: string } } }[];
    };
  };
  return (doc.vpn_connection?.ipsec_tunnel ?? [])
    .map((t) => t.vpn_gateway?.tunnel_outside_address?.ip_address)
    .filter((x): x is string => typeof x === 'string' && x !== '');
}

/** The inside CIDRs a connection uses: as AWS reports them, else as Skyway asked (tag). */
const insideOf = (c: VpnConnection): string[] => {
  const fromOptions = (c.Options?.TunnelOptions ?? [])
    .map((t) => t.TunnelInsideCidr)
    .filter((x): x is string => !!x);
  if (fromOptions.length) return fromOptions;
  return (tagMap(c.Tags)[TAG.insideCidrs] ?? '').split(' ').filter(Boolean);
};

export interface Dep {
  id: string;
  namespace: string;
}

export class Vpn {
  constructor(
    private readonly cfg: AwsConfig,
    private readonly owner: Owner,
    private readonly net: Network,
    private readonly controller: ControllerClient | undefined,
  ) {}

  private get region() {
    return this.cfg.regions[0]!;
  }
  private get ec2(): EC2Client {
    return this.net.ec2(this.region);
  }

  async gateways(namespace?: string): Promise<VpnGateway[]> {
    const res = await this.ec2.send(
      new DescribeVpnGatewaysCommand({
        Filters: ownerFilters(this.owner, {
          [TAG.role]: 'vpn-gateway',
          ...(namespace ? { [TAG.namespace]: namespace } : {}),
        }),
      }),
    );
    return (res.VpnGateways ?? []).filter((g) => LIVE(g.State));
  }

  async connections(namespace: string, remote?: string): Promise<VpnConnection[]> {
    const res = await this.ec2.send(
      new DescribeVpnConnectionsCommand({
        Filters: ownerFilters(this.owner, {
          [TAG.role]: 'vpn-connection',
          [TAG.namespace]: namespace,
          ...(remote ? { [TAG.remote]: remote } : {}),
        }),
      }),
    );
    return (res.VpnConnections ?? []).filter((c) => LIVE(c.State));
  }

  private async customerGateways(namespace: string, remote: string): Promise<CustomerGateway[]> {
    const res = await this.ec2.send(
      new DescribeCustomerGatewaysCommand({
        Filters: ownerFilters(this.owner, {
          [TAG.role]: 'customer-gateway',
          [TAG.namespace]: namespace,
          [TAG.remote]: remote,
        }),
      }),
    );
    return (res.CustomerGateways ?? []).filter((g) => LIVE(g.State));
  }

  /** CreateVpnGateway: the namespace's VGW (made, attached, propagating), with this remote's peering addresses recorded on it. */
  async createGateway(dep: Dep, remote: string, bgpIps: string[], asn: number) {
    const ips = bgpIps.map((ip, i) => {
      insideCidr(ip, `bgp_peering_ip_addresses[${i}]`, 1);
      return ip.replace(/\/\d+$/, '');
    });
    const what = `making the VPN gateway of namespace "${dep.namespace}" in ${this.region}`;
    return this.net.queue.run(`vgw\u0000${dep.namespace}`, async () => {
      const vpc = await this.net.ensureVpc(dep.namespace, this.region, dep.id);
      try {
        let g = (await this.gateways(dep.namespace))[0];
        if (!g) {
          const amazonAsn = asn || (await this.allocateAsn());
          const res = await this.ec2.send(
            new CreateVpnGatewayCommand({
              Type: 'ipsec.1',
              AmazonSideAsn: amazonAsn,
              TagSpecifications: [
                tagSpec('vpn-gateway', this.owner, {
                  [TAG.role]: 'vpn-gateway',
                  [TAG.namespace]: dep.namespace,
                  [TAG.deployment]: dep.id,
                  [remoteTag(remote)]: ips.join(' '),
                  Name: `skyway-${dep.namespace}`,
                }),
              ],
            }),
          );
          g = res.VpnGateway!;
        } else if (tagMap(g.Tags)[remoteTag(remote)] !== ips.join(' ')) {
          await this.ec2.send(
            new CreateTagsCommand({
              Resources: [g.VpnGatewayId!],
              Tags: [{ Key: remoteTag(remote), Value: ips.join(' ') }],
            }),
          );
        }
        const attached = (g.VpcAttachments ?? []).some(
          (a) => a.VpcId === vpc.vpcId && (a.State === 'attached' || a.State === 'attaching'),
        );
        if (!attached) {
          await this.ec2.send(
            new AttachVpnGatewayCommand({ VpcId: vpc.vpcId, VpnGatewayId: g.VpnGatewayId }),
          );
          await this.propagate(g.VpnGatewayId!, vpc.routeTableId);
        }
        const conns = await this.connections(dep.namespace, remote);
        return { asn: Number(g.AmazonSideAsn), gatewayIpAddresses: conns.flatMap(outsideIps) };
      } catch (e) {
        throw awsError(e, what, this.region);
      }
    });
  }

  private async allocateAsn(): Promise<number> {
    if (!this.controller) throw failedPrecondition('no ASN given and no controller to allocate one');
    return (await this.controller.findUnusedAsn({})).asn;
  }

  /** Routes learned over BGP go into the VPC's route table. */
  private async propagate(vgwId: string, routeTableId: string) {
    try {
      await this.ec2.send(
        new EnableVgwRoutePropagationCommand({ GatewayId: vgwId, RouteTableId: routeTableId }),
      );
    } catch (e) {
      // An AWS-compatible endpoint may not implement it (moto does not): say so, do not fail there.
      if (this.cfg.endpoint && isUnsupported(e)) {
        console.error(
          `aws plugin: ${this.cfg.endpoint} does not implement EnableVgwRoutePropagation; routes are not propagated`,
        );
        return;
      }
      throw e;
    }
  }

  /** CreateVpnConnections: per remote address a customer gateway and a VPN connection; returns AWS's tunnel outside addresses. */
  async createConnections(
    dep: Dep,
    remote: string,
    remoteAsn: number,
    gatewayIps: string[],
    remoteBgp: string[],
    key: string,
  ) {
    if (!remoteAsn) throw invalidArgument("asn (the remote side's ASN) is required", 'asn');
    if (!gatewayIps.length) throw invalidArgument('gateway_ip_addresses is empty', 'gateway_ip_addresses');
    for (const [i, ip] of gatewayIps.entries()) parseIp(ip, `gateway_ip_addresses[${i}]`);
    if (!PSK.test(key)) {
      throw invalidArgument(
        "shared_key: AWS takes 8-64 letters, digits, '.' and '_', not starting with 0",
        'shared_key',
      );
    }
    const what = `making the VPN connections of namespace "${dep.namespace}" towards "${remote}"`;
    return this.net.queue.run(`vgw\u0000${dep.namespace}`, async () => {
      try {
        const g = (await this.gateways(dep.namespace))[0];
        if (!g) {
          throw failedPrecondition(
            `no VPN gateway in namespace "${dep.namespace}" (${this.region}); call CreateVpnGateway first`,
          );
        }
        if (Number(g.AmazonSideAsn) === remoteAsn)
          throw invalidArgument(`asn ${remoteAsn} is the gateway's own ASN; eBGP needs two`, 'asn');
        const local = (tagMap(g.Tags)[remoteTag(remote)] ?? '').split(' ').filter(Boolean);
        const cgws = await this.customerGateways(dep.namespace, remote);
        const conns = await this.connections(dep.namespace, remote);
        const out: string[] = [];
        const keep = new Set<string>();
        for (const [j, ip] of gatewayIps.entries()) {
          const cidrs = [0, 1].map((k) => {
            const i = 2 * j + k;
            const mine = local[i] ? insideCidr(local[i]!, `bgp_peering_ip_addresses[${i}]`, 1) : undefined;
            const theirs = remoteBgp[i] ? insideCidr(remoteBgp[i]!, `bgp_ip_addresses[${i}]`, 2) : undefined;
            if (mine && theirs && mine !== theirs) {
              throw invalidArgument(
                `bgp_ip_addresses[${i}] ${remoteBgp[i]} is not in this tunnel's /30 ${mine}`,
                `bgp_ip_addresses[${i}]`,
              );
            }
            return mine ?? theirs;
          });
          let cgw = cgws.find((c) => tagMap(c.Tags)[TAG.remoteIp] === ip && Number(c.BgpAsn) === remoteAsn);
          if (!cgw) {
            const res = await this.ec2.send(
              new CreateCustomerGatewayCommand({
                Type: 'ipsec.1',
                BgpAsn: remoteAsn,
                IpAddress: ip,
                TagSpecifications: [
                  tagSpec('customer-gateway', this.owner, {
                    [TAG.role]: 'customer-gateway',
                    [TAG.namespace]: dep.namespace,
                    [TAG.remote]: remote,
                    [TAG.remoteIp]: ip,
                    Name: `skyway-${dep.namespace}-${remote}`,
                  }),
                ],
              }),
            );
            cgw = res.CustomerGateway!;
          }
          keep.add(cgw.CustomerGatewayId!);
          const tags = {
            [TAG.role]: 'vpn-connection',
            [TAG.namespace]: dep.namespace,
            [TAG.remote]: remote,
            [TAG.remoteIp]: ip,
            [TAG.insideCidrs]: cidrs.filter(Boolean).join(' '),
            [TAG.keyDigest]: digest(key),
          };
          let conn = conns.find(
            (c) =>
              c.CustomerGatewayId === cgw.CustomerGatewayId &&
              c.VpnGatewayId === g.VpnGatewayId &&
              tagMap(c.Tags)[TAG.insideCidrs] === tags[TAG.insideCidrs] &&
              tagMap(c.Tags)[TAG.keyDigest] === tags[TAG.keyDigest],
          );
          if (!conn) {
            // a connection to this address with other parameters goes first: its inside CIDRs are about to be reused
            for (const old of conns.filter((c) => tagMap(c.Tags)[TAG.remoteIp] === ip))
              await this.deleteConnection(old);
            const res = await this.ec2.send(
              new CreateVpnConnectionCommand({
                Type: 'ipsec.1',
                CustomerGatewayId: cgw.CustomerGatewayId,
                VpnGatewayId: g.VpnGatewayId,
                Options: {
                  StaticRoutesOnly: false,
                  TunnelOptions: cidrs.map((c) => ({
                    ...(c ? { TunnelInsideCidr: c } : {}),
                    PreSharedKey: key,
                  })),
                },
                TagSpecifications: [
                  tagSpec('vpn-connection', this.owner, {
                    ...tags,
                    Name: `skyway-${dep.namespace}-${remote}`,
                  }),
                ],
              }),
            );
            conn = res.VpnConnection!;
          }
          keep.add(conn.VpnConnectionId!);
          out.push(...outsideIps(conn));
        }
        // addresses the remote side no longer has
        for (const c of conns) if (!keep.has(c.VpnConnectionId!)) await this.deleteConnection(c);
        for (const c of await this.customerGateways(dep.namespace, remote)) {
          if (!keep.has(c.CustomerGatewayId!)) await this.deleteCustomerGateway(c.CustomerGatewayId!);
        }
        return { gatewayIpAddresses: out };
      } catch (e) {
        throw awsError(e, what, this.region);
      }
    });
  }

  private async deleteConnection(c: VpnConnection) {
    await this.ec2.send(new DeleteVpnConnectionCommand({ VpnConnectionId: c.VpnConnectionId })).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
    // the customer gateway cannot go while a connection still uses it
    await waitUntilVpnConnectionDeleted(
      { client: this.ec2, maxWaitTime: this.cfg.waitSeconds, minDelay: 2, maxDelay: 15 },
      { VpnConnectionIds: [c.VpnConnectionId!] },
    ).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  }

  private async deleteCustomerGateway(id: string) {
    await this.ec2.send(new DeleteCustomerGatewayCommand({ CustomerGatewayId: id })).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  }

  /** DeleteVpnConnections: the connections and customer gateways towards one remote cloud. */
  async deleteConnections(dep: Dep, remote: string) {
    return this.net.queue.run(`vgw\u0000${dep.namespace}`, async () => {
      try {
        for (const c of await this.connections(dep.namespace, remote)) await this.deleteConnection(c);
        for (const c of await this.customerGateways(dep.namespace, remote))
          await this.deleteCustomerGateway(c.CustomerGatewayId!);
        return {};
      } catch (e) {
        throw awsError(
          e,
          `deleting the VPN connections of namespace "${dep.namespace}" towards "${remote}"`,
          this.region,
        );
      }
    });
  }

  /** DeleteVpnGateway: the remote's connections, its entry on the VGW, and the VGW once no remote cloud uses it. */
  async deleteGateway(dep: Dep, remote: string) {
    await this.deleteConnections(dep, remote);
    return this.net.queue.run(`vgw\u0000${dep.namespace}`, async () => {
      try {
        const g = (await this.gateways(dep.namespace))[0];
        if (!g) return {};
        const tags = tagMap(g.Tags);
        if (remoteTag(remote) in tags) {
          await this.ec2.send(
            new DeleteTagsCommand({ Resources: [g.VpnGatewayId!], Tags: [{ Key: remoteTag(remote) }] }),
          );
          delete tags[remoteTag(remote)];
        }
        if (Object.keys(tags).some((k) => k.startsWith(TAG.remotePrefix))) return {};
        await this.removeGateway(g);
        return {};
      } catch (e) {
        throw awsError(e, `deleting the VPN gateway of namespace "${dep.namespace}"`, this.region);
      }
    });
  }

  /** Detaches (waiting until AWS has) and deletes a VGW. */
  async removeGateway(g: VpnGateway) {
    for (const a of g.VpcAttachments ?? []) {
      if (a.State === 'detached' || !a.VpcId) continue;
      await this.ec2
        .send(new DetachVpnGatewayCommand({ VpcId: a.VpcId, VpnGatewayId: g.VpnGatewayId }))
        .catch((e) => {
          if (!isNotFound(e) && !isCode(e, 'InvalidVpnGatewayAttachment.NotFound')) throw e;
        });
    }
    // EC2 has no waiter for a detach: poll, within the configured budget
    const deadline = Date.now() + this.cfg.waitSeconds * 1000;
    for (;;) {
      const res = await this.ec2.send(new DescribeVpnGatewaysCommand({ VpnGatewayIds: [g.VpnGatewayId!] }));
      const busy = (res.VpnGateways?.[0]?.VpcAttachments ?? []).some(
        (a) => a.State === 'detaching' || a.State === 'attached',
      );
      if (!busy) break;
      if (Date.now() > deadline) throw failedPrecondition(`VPN gateway ${g.VpnGatewayId} is still detaching`);
      await new Promise((r) => setTimeout(r, 3000));
    }
    await this.ec2.send(new DeleteVpnGatewayCommand({ VpnGatewayId: g.VpnGatewayId })).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  }

  async usedAsns(match: (ns: string, dep: string) => boolean): Promise<number[]> {
    return (await this.gateways())
      .filter((g) => match(tagMap(g.Tags)[TAG.namespace] ?? '', tagMap(g.Tags)[TAG.deployment] ?? ''))
      .map((g) => Number(g.AmazonSideAsn));
  }

  async usedBgp(match: (ns: string, dep: string) => boolean): Promise<string[]> {
    const out = new Set<string>();
    for (const g of await this.gateways()) {
      const t = tagMap(g.Tags);
      const ns = t[TAG.namespace] ?? '';
      if (!match(ns, t[TAG.deployment] ?? '')) continue;
      for (const [k, v] of Object.entries(t)) {
        if (k.startsWith(TAG.remotePrefix)) for (const ip of v.split(' ').filter(Boolean)) out.add(ip);
      }
      for (const c of await this.connections(ns))
        for (const cidr of insideOf(c)) out.add(formatCidr(parseCidr(cidr, 'cidr')));
    }
    return [...out];
  }
}
