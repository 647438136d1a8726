// Skyway's network in an account: per namespace and region one VPC (its CIDR
// allocated by the controller) with one subnet spanning it; VPC peering between
// the regions of a namespace with routes both ways. Found again by their tags,
// so the plugin keeps no state of its own.
import {
  AcceptVpcPeeringConnectionCommand,
  CreateRouteCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  CreateVpcPeeringConnectionCommand,
  DeleteRouteCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DeleteVpcPeeringConnectionCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  DescribeVpcPeeringConnectionsCommand,
  DescribeVpcsCommand,
  type EC2Client,
  type VpcPeeringConnection,
} from '@aws-sdk/client-ec2';
import {
  type ControllerClient,
  cidrsOverlap,
  failedPrecondition,
  formatCidr,
  parseCidr,
  SerialQueue,
} from '@skyway/plugin-sdk';
import type { AwsClients } from './clients.js';
import type { AwsConfig } from './config.js';
import { awsError, isCode, isNotFound } from './errors.js';
import { type Owner, ownerFilters, TAG, tagMap, tagSpec } from './tags.js';

export interface Vpc {
  namespace: string;
  region: string;
  deployment: string;
  vpcId: string;
  cidr: string;
  subnetId: string;
  routeTableId: string;
}

const VPC_PREFIX_LENGTH = 16;
const key = (ns: string, region: string) => `${ns}\u0000${region}`;
const LIVE_PEERING = ['pending-acceptance', 'provisioning', 'active'];

export class Network {
  /** VPCs found or made, by namespace and region. */
  private readonly vpcs = new Map<string, Vpc>();
  /** Creation and teardown of one namespace's VPC in one region run one at a time. */
  readonly queue = new SerialQueue();

  constructor(
    private readonly cfg: AwsConfig,
    private readonly owner: Owner,
    private readonly clients: AwsClients,
    private readonly controller: ControllerClient | undefined,
  ) {}

  ec2(region: string): EC2Client {
    return this.clients.ec2(region);
  }

  /** The namespace's VPC in a region, if Skyway made one. */
  async findVpc(namespace: string, region: string): Promise<Vpc | undefined> {
    const cached = this.vpcs.get(key(namespace, region));
    if (cached) return cached;
    const ec2 = this.ec2(region);
    const what = `looking up the Skyway VPC of namespace "${namespace}" in ${region}`;
    try {
      const res = await ec2.send(
        new DescribeVpcsCommand({
          Filters: ownerFilters(this.owner, { [TAG.namespace]: namespace, [TAG.role]: 'vpc' }),
        }),
      );
      const v = res.Vpcs?.find((x) => (x.State as string) !== 'deleted');
      if (!v?.VpcId || !v.CidrBlock) return undefined;
      const subnets = await ec2.send(
        new DescribeSubnetsCommand({
          Filters: [
            { Name: 'vpc-id', Values: [v.VpcId] },
            ...ownerFilters(this.owner, { [TAG.role]: 'subnet' }),
          ],
        }),
      );
      const subnetId = subnets.Subnets?.[0]?.SubnetId;
      const routeTableId = await this.mainRouteTable(ec2, v.VpcId);
      const vpc: Vpc = {
        namespace,
        region,
        deployment: tagMap(v.Tags)[TAG.deployment] ?? '',
        vpcId: v.VpcId,
        cidr: v.CidrBlock,
        subnetId: subnetId ?? (await this.createSubnet(ec2, v.VpcId, v.CidrBlock, namespace)),
        routeTableId,
      };
      this.vpcs.set(key(namespace, region), vpc);
      return vpc;
    } catch (e) {
      throw awsError(e, what, region);
    }
  }

  private async mainRouteTable(ec2: EC2Client, vpcId: string): Promise<string> {
    const rts = await ec2.send(
      new DescribeRouteTablesCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'association.main', Values: ['true'] },
        ],
      }),
    );
    const id = rts.RouteTables?.[0]?.RouteTableId;
    if (!id) throw failedPrecondition(`VPC ${vpcId} has no main route table`);
    return id;
  }

  private async createSubnet(
    ec2: EC2Client,
    vpcId: string,
    cidr: string,
    namespace: string,
  ): Promise<string> {
    const res = await ec2.send(
      new CreateSubnetCommand({
        VpcId: vpcId,
        CidrBlock: cidr,
        TagSpecifications: [
          tagSpec('subnet', this.owner, {
            [TAG.namespace]: namespace,
            [TAG.role]: 'subnet',
            Name: `skyway-${namespace}`,
          }),
        ],
      }),
    );
    return res.Subnet!.SubnetId!;
  }

  /** The namespace's VPC in a region, made on first use from an address space the controller allocates. */
  ensureVpc(namespace: string, region: string, deployment: string): Promise<Vpc> {
    return this.queue.run(key(namespace, region), async () => {
      const found = await this.findVpc(namespace, region);
      if (found) return found;
      if (!this.controller) {
        throw failedPrecondition(
          'the AWS plugin needs the controller to allocate an address space for a new VPC',
        );
      }
      const res = await this.controller.findUnusedAddressSpaces({ sizes: [VPC_PREFIX_LENGTH] });
      const space = res.addressSpaces[0];
      if (!space) throw failedPrecondition('the controller returned no free address space', 'POOL_EXHAUSTED');
      const cidr = formatCidr(parseCidr(space, 'address_space', { allowHostBits: true }));
      const ec2 = this.ec2(region);
      const tags = { [TAG.namespace]: namespace, [TAG.deployment]: deployment };
      try {
        const v = await ec2.send(
          new CreateVpcCommand({
            CidrBlock: cidr,
            TagSpecifications: [
              tagSpec('vpc', this.owner, { ...tags, [TAG.role]: 'vpc', Name: `skyway-${namespace}` }),
            ],
          }),
        );
        const vpcId = v.Vpc!.VpcId!;
        const vpc: Vpc = {
          namespace,
          region,
          deployment,
          vpcId,
          cidr,
          subnetId: await this.createSubnet(ec2, vpcId, cidr, namespace),
          routeTableId: await this.mainRouteTable(ec2, vpcId),
        };
        this.vpcs.set(key(namespace, region), vpc);
        return vpc;
      } catch (e) {
        throw awsError(e, `creating the Skyway VPC ${cidr} of namespace "${namespace}" in ${region}`, region);
      }
    });
  }

  /** Every Skyway VPC of a namespace (or of all namespaces), across the configured regions. */
  async allVpcs(namespace?: string): Promise<Vpc[]> {
    const out: Vpc[] = [];
    await Promise.all(
      this.cfg.regions.map(async (region) => {
        const ec2 = this.ec2(region);
        const res = await ec2
          .send(
            new DescribeVpcsCommand({
              Filters: ownerFilters(this.owner, {
                [TAG.role]: 'vpc',
                ...(namespace ? { [TAG.namespace]: namespace } : {}),
              }),
            }),
          )
          .catch((e) => {
            throw awsError(e, `listing Skyway VPCs in ${region}`, region);
          });
        for (const v of res.Vpcs ?? []) {
          if (!v.VpcId || !v.CidrBlock || (v.State as string) === 'deleted') continue;
          const t = tagMap(v.Tags);
          const ns = t[TAG.namespace] ?? '';
          const cached = this.vpcs.get(key(ns, region));
          out.push(
            cached ?? {
              namespace: ns,
              region,
              deployment: t[TAG.deployment] ?? '',
              vpcId: v.VpcId,
              cidr: v.CidrBlock,
              subnetId: '',
              routeTableId: '',
            },
          );
        }
      }),
    );
    return out;
  }

  /** Peers `own` with every other Skyway VPC of its namespace that a target falls into (other regions). */
  async peerFor(own: Vpc, targets: string[]): Promise<void> {
    const others = (await this.allVpcs(own.namespace)).filter((v) => v.region !== own.region);
    for (const other of others) {
      const net = parseCidr(other.cidr, 'cidr', { allowHostBits: true });
      if (!targets.some((t) => cidrsOverlap(parseCidr(t, 'target', { allowHostBits: true }), net))) continue;
      const peerVpc = (await this.findVpc(other.namespace, other.region))!;
      await this.ensurePeering(own, peerVpc);
    }
  }

  private async livePeerings(v: Vpc): Promise<VpcPeeringConnection[]> {
    const res = await this.ec2(v.region).send(
      new DescribeVpcPeeringConnectionsCommand({
        Filters: ownerFilters(this.owner, { [TAG.role]: 'peering', [TAG.namespace]: v.namespace }),
      }),
    );
    return (res.VpcPeeringConnections ?? []).filter(
      (p) =>
        LIVE_PEERING.includes(p.Status?.Code ?? '') &&
        (p.RequesterVpcInfo?.VpcId === v.vpcId || p.AccepterVpcInfo?.VpcId === v.vpcId),
    );
  }

  /** One peering per pair of regions, requested from the alphabetically first; routes both ways. */
  async ensurePeering(x: Vpc, y: Vpc): Promise<string> {
    const [a, b] = x.region < y.region ? [x, y] : [y, x];
    return this.queue.run(`peer\u0000${a.namespace}\u0000${a.region}\u0000${b.region}`, async () => {
      const what = `peering the Skyway VPCs of namespace "${a.namespace}" in ${a.region} and ${b.region}`;
      try {
        const existing = (await this.livePeerings(a)).find(
          (p) => p.RequesterVpcInfo?.VpcId === b.vpcId || p.AccepterVpcInfo?.VpcId === b.vpcId,
        );
        let id = existing?.VpcPeeringConnectionId;
        if (!id) {
          const res = await this.ec2(a.region).send(
            new CreateVpcPeeringConnectionCommand({
              VpcId: a.vpcId,
              PeerVpcId: b.vpcId,
              PeerRegion: b.region,
              TagSpecifications: [
                tagSpec('vpc-peering-connection', this.owner, {
                  [TAG.role]: 'peering',
                  [TAG.namespace]: a.namespace,
                  [TAG.peer]: `${a.region} ${b.region}`,
                }),
              ],
            }),
          );
          id = res.VpcPeeringConnection!.VpcPeeringConnectionId!;
        }
        if (existing?.Status?.Code !== 'active') {
          await this.ec2(b.region)
            .send(new AcceptVpcPeeringConnectionCommand({ VpcPeeringConnectionId: id }))
            .catch((e) => {
              // already accepted by an earlier attempt
              if (!isCode(e, 'InvalidStateTransition')) throw e;
            });
        }
        await this.route(a, b.cidr, id);
        await this.route(b, a.cidr, id);
        return id;
      } catch (e) {
        throw awsError(e, what, a.region);
      }
    });
  }

  private async route(v: Vpc, cidr: string, peeringId: string): Promise<void> {
    await this.ec2(v.region)
      .send(
        new CreateRouteCommand({
          RouteTableId: v.routeTableId,
          DestinationCidrBlock: cidr,
          VpcPeeringConnectionId: peeringId,
        }),
      )
      .catch((e) => {
        if (!isCode(e, 'RouteAlreadyExists')) throw e;
      });
  }

  /** Removes a VPC that holds nothing of Skyway's any more: its peerings (and their routes), subnet and itself. */
  async deleteVpc(v: Vpc): Promise<void> {
    const ec2 = this.ec2(v.region);
    const what = `deleting the Skyway VPC ${v.vpcId} of namespace "${v.namespace}" in ${v.region}`;
    try {
      for (const p of await this.livePeerings(v)) {
        const other =
          p.RequesterVpcInfo?.VpcId === v.vpcId
            ? { region: p.AccepterVpcInfo?.Region, cidr: p.RequesterVpcInfo?.CidrBlock }
            : { region: p.RequesterVpcInfo?.Region, cidr: p.AccepterVpcInfo?.CidrBlock };
        const peer = other.region ? await this.findVpc(v.namespace, other.region) : undefined;
        if (peer) {
          await this.ec2(peer.region)
            .send(new DeleteRouteCommand({ RouteTableId: peer.routeTableId, DestinationCidrBlock: v.cidr }))
            .catch((e) => {
              if (!isNotFound(e)) throw e;
            });
        }
        await ec2.send(
          new DeleteVpcPeeringConnectionCommand({ VpcPeeringConnectionId: p.VpcPeeringConnectionId }),
        );
      }
      if (v.subnetId) await ec2.send(new DeleteSubnetCommand({ SubnetId: v.subnetId }));
      await ec2.send(new DeleteVpcCommand({ VpcId: v.vpcId }));
      this.vpcs.delete(key(v.namespace, v.region));
    } catch (e) {
      throw awsError(e, what, v.region);
    }
  }

  forget(namespace: string, region: string): void {
    this.vpcs.delete(key(namespace, region));
  }
}
