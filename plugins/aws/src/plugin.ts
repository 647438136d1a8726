// The AWS cloud: a CloudPlugin on the official SDK. Instances are EC2
// instances in a Skyway VPC per namespace and region, each with its own
// security group (deny all, then its permit list); cross-region reach is VPC
// peering, cross-cloud reach a Site-to-Site VPN. The plugin keeps no state:
// everything it made carries Skyway's ownership tags and is found again by them.
import { fileURLToPath } from 'node:url';
import {
  CreateTagsCommand,
  DescribeAvailabilityZonesCommand,
  DescribeInstancesCommand,
  type Instance,
  ModifyInstanceAttributeCommand,
  paginateDescribeInstances,
  RunInstancesCommand,
  TerminateInstancesCommand,
  waitUntilInstanceTerminated,
} from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import {
  alreadyExists,
  type CloudPluginImpl,
  type ControllerClient,
  checkPermitListRule,
  failedPrecondition,
  invalidArgument,
  notFound,
  type ParagliderDeployment,
  type PermitListRule,
} from '@skyway/plugin-sdk';
import { AwsClients } from './clients.js';
import { type AwsConfig, parseAwsConfig } from './config.js';
import { parseDescription } from './description.js';
import { awsError, isNotFound } from './errors.js';
import { Network, type Vpc } from './network.js';
import { checkAwsRule, rulesFromAtoms, toAtoms } from './rules.js';
import { applyPlan, deleteGroup, ensureGroup, readGroup } from './security-group.js';
import { type Owner, ownerFilters, ownerTags, TAG, tagMap, tagSpec } from './tags.js';
import { Vpn } from './vpn.js';

export const VERSION = '0.1.0';
/** The plugin's descriptor, for the controller's registry. */
export const DESCRIPTOR_FILE = fileURLToPath(new URL('../plugin.yaml', import.meta.url));
/**
 * What the controller reads from the descriptor: `vpn-ips-after-connection` (AWS has tunnel
 * outside addresses only once a VPN connection exists, so CreateVpnConnections returns them),
 * `vpn-two-tunnels` (two tunnels per remote address, each with its own inside /30) and
 * `vpn-bgp-first-host` (AWS takes the first address of each /30).
 */
export const CAPABILITIES = [
  'permit-lists',
  'peering',
  'vpn',
  'bgp',
  'vpn-ips-after-connection',
  'vpn-two-tunnels',
  'vpn-bgp-first-host',
];

export interface AwsPluginOptions {
  /** This cloud's name in Skyway (tag skyway:cloud). */
  cloud: string;
  /** The descriptor's default_config merged with the cloud's config. */
  config: Record<string, unknown>;
  controller?: ControllerClient;
}

export type AwsPlugin = CloudPluginImpl & {
  readonly config: AwsConfig;
  readonly owner: Owner;
  /** Removes every object of this cloud's owner from the configured regions (tests, `skyway` cleanup). */
  destroyAll(): Promise<void>;
  /** Deletes the VPN gateway side of one remote cloud (the DeleteVpnGateway call). */
  deleteVpnGatewayFor(deployment: { id: string; namespace: string }, cloud: string): Promise<void>;
  close(): void;
};

const URI = /^aws:\/\/([a-z0-9-]+)\/(i-[0-9a-zA-Z-]+)$/;
const uriOf = (region: string, id: string) => `aws://${region}/${id}`;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const GONE = ['terminated', 'shutting-down'];

interface Dep {
  id: string;
  namespace: string;
}
function requireDeployment(d: ParagliderDeployment | undefined): Dep {
  if (!d) throw invalidArgument('deployment is required', 'deployment');
  const namespace = d.namespace || 'default';
  if (!NAME.test(namespace))
    throw invalidArgument(`deployment.namespace "${namespace}" is not a valid name`, 'deployment.namespace');
  return { id: d.id, namespace };
}
const matcher = (deps: ParagliderDeployment[]) => (namespace: string, deployment: string) =>
  deps.length === 0 ||
  deps.some((d) => (d.namespace || 'default') === namespace && (!d.id || d.id === deployment));

export function createAwsPlugin(opts: AwsPluginOptions): AwsPlugin {
  if (!NAME.test(opts.cloud)) throw invalidArgument(`cloud "${opts.cloud}" is not a valid name`, 'cloud');
  const cfg = parseAwsConfig(opts.config);
  const owner: Owner = { owner: cfg.owner, cloud: opts.cloud };
  const clients = new AwsClients(cfg);
  const net = new Network(cfg, owner, clients, opts.controller);
  const vpn = new Vpn(cfg, owner, net, opts.controller);
  /** Instance id -> its security group and VPC: neither changes for an instance's life. */
  const groups = new Map<string, { groupId: string; namespace: string }>();

  const parseUri = (uri: string, field = 'resource') => {
    const m = URI.exec(uri);
    if (!m)
      throw invalidArgument(
        `${field} "${uri}" is not an AWS resource uri (aws://<region>/<instance-id>)`,
        field,
      );
    const region = m[1]!;
    if (!cfg.regions.includes(region))
      throw notFound(`${field} "${uri}" is in ${region}, which this cloud does not use`);
    return { region, id: m[2]! };
  };

  const describe = async (region: string, id: string): Promise<Instance | undefined> => {
    try {
      const res = await net.ec2(region).send(new DescribeInstancesCommand({ InstanceIds: [id] }));
      const inst = res.Reservations?.flatMap((r) => r.Instances ?? [])[0];
      if (
        !inst ||
        tagMap(inst.Tags)[TAG.managedBy] !== owner.owner ||
        tagMap(inst.Tags)[TAG.cloud] !== owner.cloud
      )
        return undefined;
      return inst;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw awsError(e, `reading instance ${id} in ${region}`, region);
    }
  };

  /** A live instance of ours with its Skyway security group. */
  const findResource = async (uri: string) => {
    const { region, id } = parseUri(uri);
    const inst = await describe(region, id);
    if (!inst || GONE.includes(inst.State?.Name ?? '')) throw notFound(`no resource "${uri}"`);
    const t = tagMap(inst.Tags);
    const namespace = t[TAG.namespace] ?? '';
    let g = groups.get(id);
    if (!g) {
      const groupId = (inst.SecurityGroups ?? []).find(
        (s) => s.GroupName === `skyway-${namespace}-${t[TAG.name]}`,
      )?.GroupId;
      if (!groupId) throw notFound(`resource "${uri}" has lost its Skyway security group`);
      g = { groupId, namespace };
      groups.set(id, g);
    }
    return { region, id, inst, namespace, name: t[TAG.name] ?? '', groupId: g.groupId };
  };

  const liveInstances = async (region: string, filters: Record<string, string>) => {
    const out: Instance[] = [];
    for await (const page of paginateDescribeInstances(
      { client: net.ec2(region) },
      { Filters: ownerFilters(owner, { [TAG.role]: 'instance', ...filters }) },
    )) {
      for (const r of page.Reservations ?? [])
        for (const i of r.Instances ?? []) if (!GONE.includes(i.State?.Name ?? '')) out.push(i);
    }
    return out;
  };

  /** The resource's group: from the cache when we know it (an instance's group never changes), else from AWS. */
  const groupFor = async (uri: string) => {
    const { region, id } = parseUri(uri);
    const g = groups.get(id);
    if (g) return { region, id, namespace: g.namespace, groupId: g.groupId };
    const r = await findResource(uri);
    return { region, id, namespace: r.namespace, groupId: r.groupId };
  };

  const applyRules = async (uri: string, change: (current: PermitListRule[]) => PermitListRule[]) => {
    const r = await groupFor(uri);
    const ec2 = net.ec2(r.region);
    return net.queue.run(`sg\u0000${r.groupId}`, async () => {
      try {
        const live = await readGroup(ec2, r.groupId);
        const current = rulesFromAtoms(live.atoms).rules as PermitListRule[];
        const next = change(current);
        await applyPlan(ec2, owner, r.groupId, live.atoms, toAtoms(next), cfg.rulesPerGroup);
        return { ...r, rules: next };
      } catch (e) {
        throw awsError(e, `applying the permit list of ${uri}`, r.region);
      }
    });
  };

  /** The last instance takes the VPC with it, unless a VPN gateway still uses it. */
  const dropEmptyVpc = (namespace: string, region: string) =>
    net.queue.run(`${namespace}\u0000${region}`, async () => {
      const vpc = await net.findVpc(namespace, region);
      if (!vpc) return;
      if ((await liveInstances(region, { [TAG.namespace]: namespace })).length) return;
      if (region === cfg.regions[0] && (await vpn.gateways(namespace)).length) return;
      await net.deleteVpc(vpc);
    });

  const impl: AwsPlugin = {
    config: cfg,
    owner,

    async describe() {
      return { name: 'aws', version: VERSION, capabilities: CAPABILITIES, nowUnixMs: BigInt(Date.now()) };
    },

    async checkCredentials() {
      let who: string;
      try {
        const id = await clients.sts().send(new GetCallerIdentityCommand({}));
        who = `account ${id.Account} as ${id.Arn}`;
      } catch (e) {
        return {
          ok: false,
          message: `the credentials were refused: ${awsError(e, 'STS GetCallerIdentity').message}`,
        };
      }
      for (const region of cfg.regions) {
        try {
          await net.ec2(region).send(new DescribeAvailabilityZonesCommand({}));
        } catch (e) {
          return {
            ok: false,
            message: `${who}, but region ${region} does not answer: ${awsError(e, `EC2 in ${region}`, region).message}`,
          };
        }
      }
      return { ok: true, message: `${who}; regions ${cfg.regions.join(', ')}` };
    },

    async createResource(req) {
      const dep = requireDeployment(req.deployment);
      if (!NAME.test(req.name))
        throw invalidArgument(`name "${req.name}" must be 1-63 letters, digits, '.', '_' or '-'`, 'name');
      const desc = parseDescription(req.description);
      const region = desc.region ?? cfg.regions[0]!;
      if (!cfg.regions.includes(region)) {
        throw invalidArgument(
          `description.Placement.AvailabilityZone is in ${region}; this cloud uses ${cfg.regions.join(', ')}`,
          'description.Placement.AvailabilityZone',
        );
      }
      const ec2 = net.ec2(region);
      return net.queue.run(`res\u0000${dep.namespace}\u0000${req.name}`, async () => {
        // idempotent: the same name in the namespace is the same instance
        for (const r of cfg.regions) {
          const existing = (
            await liveInstances(r, { [TAG.namespace]: dep.namespace, [TAG.name]: req.name })
          )[0];
          if (!existing) continue;
          if (r !== region || (desc.input.ImageId && existing.ImageId !== desc.input.ImageId)) {
            throw alreadyExists(
              `resource "${req.name}" exists in namespace "${dep.namespace}" (${uriOf(r, existing.InstanceId!)}) with a different description`,
            );
          }
          return { name: req.name, uri: uriOf(r, existing.InstanceId!), ip: existing.PrivateIpAddress ?? '' };
        }
        const vpc: Vpc = await net.ensureVpc(dep.namespace, region, dep.id);
        try {
          const groupId = await ensureGroup(ec2, owner, vpc.vpcId, dep.namespace, req.name);
          const tags = { [TAG.namespace]: dep.namespace, [TAG.deployment]: dep.id, [TAG.name]: req.name };
          const input = { ...desc.input } as Record<string, unknown>;
          if (input.Placement) {
            // the availability zone chose the region; the subnet decides the zone
            const { AvailabilityZone: _az, ...rest } = input.Placement as Record<string, unknown>;
            input.Placement = rest;
          }
          const userSpecs =
            (input.TagSpecifications as { ResourceType?: string; Tags?: unknown[] }[] | undefined) ?? [];
          const specFor = (type: string, extra: Record<string, string>) => {
            const s = tagSpec(type, owner, extra);
            const user = userSpecs.find((u) => u.ResourceType === type);
            return { ...s, Tags: [...(s.Tags ?? []), ...((user?.Tags as never[]) ?? [])] };
          };
          const res = await ec2.send(
            new RunInstancesCommand({
              ...(input as object),
              MinCount: 1,
              MaxCount: 1,
              SubnetId: vpc.subnetId,
              SecurityGroupIds: [groupId],
              TagSpecifications: [
                specFor('instance', { ...tags, [TAG.role]: 'instance', Name: req.name }),
                specFor('volume', { ...tags, [TAG.role]: 'volume' }),
                ...userSpecs.filter((u) => u.ResourceType !== 'instance' && u.ResourceType !== 'volume'),
              ] as never,
            }),
          );
          const inst = res.Instances?.[0];
          if (!inst?.InstanceId || !inst.PrivateIpAddress)
            throw new Error('RunInstances returned no instance');
          groups.set(inst.InstanceId, { groupId, namespace: dep.namespace });
          return { name: req.name, uri: uriOf(region, inst.InstanceId), ip: inst.PrivateIpAddress };
        } catch (e) {
          throw awsError(e, `creating instance "${req.name}" in ${region}`, region, 'description');
        }
      });
    },

    async attachResource(req) {
      const namespace = req.namespace || req.deployment?.namespace || 'default';
      const ref = /^i-[0-9a-zA-Z]+$/.test(req.resource) ? undefined : parseUri(req.resource);
      // a bare instance id: look in every configured region
      let found: { region: string; inst: Instance } | undefined;
      for (const region of ref ? [ref.region] : cfg.regions) {
        const id = ref?.id ?? req.resource;
        try {
          const res = await net.ec2(region).send(new DescribeInstancesCommand({ InstanceIds: [id] }));
          const inst = res.Reservations?.flatMap((r) => r.Instances ?? [])[0];
          if (inst && !GONE.includes(inst.State?.Name ?? '')) found = { region, inst };
        } catch (e) {
          if (!isNotFound(e)) throw awsError(e, `reading instance ${id} in ${region}`, region);
        }
        if (found) break;
      }
      if (!found) throw notFound(`no instance "${req.resource}" in ${cfg.regions.join(', ')}`);
      const { region, inst } = found;
      const t = tagMap(inst.Tags);
      const uri = uriOf(region, inst.InstanceId!);
      if (t[TAG.managedBy] === owner.owner && t[TAG.cloud] === owner.cloud) {
        if (t[TAG.namespace] !== namespace)
          throw notFound(`resource "${uri}" is not in namespace "${namespace}"`);
        return { name: t[TAG.name] ?? '', uri, ip: inst.PrivateIpAddress ?? '' };
      }
      // an instance Skyway did not make: it must sit in the namespace's Skyway VPC; it then gets a group of its own (deny all)
      const vpc = await net.findVpc(namespace, region);
      if (!vpc || inst.VpcId !== vpc.vpcId) {
        throw failedPrecondition(
          `instance ${inst.InstanceId} is in ${inst.VpcId ?? 'no VPC'}, not in Skyway's VPC of namespace "${namespace}" in ${region}; only instances there can be attached`,
        );
      }
      const name = NAME.test(t.Name ?? '') ? t.Name! : inst.InstanceId!;
      const ec2 = net.ec2(region);
      try {
        const groupId = await ensureGroup(ec2, owner, vpc.vpcId, namespace, name);
        await ec2.send(
          new ModifyInstanceAttributeCommand({ InstanceId: inst.InstanceId, Groups: [groupId] }),
        );
        await ec2.send(
          new CreateTagsCommand({
            Resources: [inst.InstanceId!],
            Tags: ownerTags(owner, {
              [TAG.namespace]: namespace,
              [TAG.deployment]: req.deployment?.id ?? vpc.deployment,
              [TAG.name]: name,
              [TAG.role]: 'instance',
            }),
          }),
        );
        groups.set(inst.InstanceId!, { groupId, namespace });
      } catch (e) {
        throw awsError(e, `attaching instance ${inst.InstanceId}`, region);
      }
      return { name, uri, ip: inst.PrivateIpAddress ?? '' };
    },

    async deleteResource(req) {
      requireDeployment(req.deployment);
      const { region, id } = parseUri(req.resource);
      const inst = await describe(region, id);
      if (!inst) return {};
      const t = tagMap(inst.Tags);
      const namespace = t[TAG.namespace] ?? '';
      const ec2 = net.ec2(region);
      const what = `deleting ${req.resource}`;
      try {
        if (inst.State?.Name !== 'terminated') {
          await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
          // the security group cannot go while the instance's interface still holds it
          await waitUntilInstanceTerminated(
            { client: ec2, maxWaitTime: cfg.waitSeconds, minDelay: 2, maxDelay: 15 },
            { InstanceIds: [id] },
          );
        }
        for (const g of inst.SecurityGroups ?? []) {
          if (g.GroupName === `skyway-${namespace}-${t[TAG.name]}`) await deleteGroup(ec2, g.GroupId!);
        }
        groups.delete(id);
      } catch (e) {
        throw awsError(e, what, region);
      }
      await dropEmptyVpc(namespace, region);
      return {};
    },

    async listResources(req) {
      const match = matcher(req.deployments);
      const vpcs = await net.allVpcs();
      const resources = [];
      for (const region of cfg.regions) {
        let insts: Instance[];
        try {
          insts = await liveInstances(region, {});
        } catch (e) {
          throw awsError(e, `listing instances in ${region}`, region);
        }
        for (const i of insts) {
          const t = tagMap(i.Tags);
          const namespace = t[TAG.namespace] ?? '';
          const deployment = t[TAG.deployment] ?? '';
          if (!match(namespace, deployment)) continue;
          resources.push({
            name: t[TAG.name] ?? '',
            uri: uriOf(region, i.InstanceId!),
            ip: i.PrivateIpAddress ?? '',
            namespace,
            deployment,
            state: i.State?.Name ?? 'unknown',
            addressSpace: vpcs.find((v) => v.vpcId === i.VpcId)?.cidr ?? '',
          });
        }
      }
      return { resources };
    },

    async getPermitList(req) {
      const r = await findResource(req.resource);
      const live = await readGroup(net.ec2(r.region), r.groupId).catch((e) => {
        throw awsError(e, `reading the security group of ${req.resource}`, r.region);
      });
      const { rules, deviations } = rulesFromAtoms(live.atoms);
      for (const g of r.inst.SecurityGroups ?? []) {
        if (g.GroupId !== r.groupId)
          deviations.push(`security group ${g.GroupId} (${g.GroupName}) is attached beside Skyway's`);
      }
      return { rules, unfiltered: false, deviations };
    },

    async addPermitListRules(req) {
      const seen = new Set<string>();
      req.rules.forEach((rule, i) => {
        checkPermitListRule(rule, `rules[${i}]`);
        checkAwsRule(rule, `rules[${i}]`);
        if (seen.has(rule.name))
          throw invalidArgument(`rules[${i}].name "${rule.name}" appears twice`, `rules[${i}].name`);
        seen.add(rule.name);
      });
      const done = await applyRules(req.resource, (current) => [
        ...current.filter((c) => !seen.has(c.name)),
        ...req.rules,
      ]);
      // same cloud, other region: peer the VPCs a target falls into
      const own = cfg.regions.length > 1 ? await net.findVpc(done.namespace, done.region) : undefined;
      if (own)
        await net.peerFor(
          own,
          req.rules.flatMap((x) => x.targets),
        );
      return {};
    },

    async deletePermitListRules(req) {
      const drop = new Set(req.ruleNames);
      await applyRules(req.resource, (current) => current.filter((c) => !drop.has(c.name)));
      return {};
    },

    async getUsedAddressSpaces(req) {
      const match = matcher(req.deployments);
      const groupsOut = new Map<string, { namespace: string; deployment: string; spaces: string[] }>();
      for (const v of await net.allVpcs()) {
        if (!match(v.namespace, v.deployment)) continue;
        const k = `${v.namespace}\u0000${v.deployment}`;
        const g = groupsOut.get(k) ?? { namespace: v.namespace, deployment: v.deployment, spaces: [] };
        g.spaces.push(v.cidr);
        groupsOut.set(k, g);
      }
      return {
        addressSpaceMappings: [...groupsOut.values()].map((g) => ({
          addressSpaces: g.spaces,
          cloud: opts.cloud,
          namespace: g.namespace,
          deployment: g.deployment,
        })),
      };
    },

    async getNetworkAddressSpaces(req) {
      const dep = requireDeployment(req.deployment);
      const match = matcher([
        { ...dep, $typeName: 'skyway.plugin.v1.ParagliderDeployment' } as ParagliderDeployment,
      ]);
      return {
        addressSpaces: (await net.allVpcs(dep.namespace))
          .filter((v) => match(v.namespace, v.deployment))
          .map((v) => v.cidr),
      };
    },

    async getUsedAsns(req) {
      return {
        asns: await vpn
          .usedAsns(matcher(req.deployments))
          .catch((e) => Promise.reject(awsError(e, 'listing VPN gateways'))),
      };
    },

    async getUsedBgpPeeringIpAddresses(req) {
      return {
        ipAddresses: await vpn
          .usedBgp(matcher(req.deployments))
          .catch((e) => Promise.reject(awsError(e, 'listing VPN connections'))),
      };
    },

    async createVpnGateway(req) {
      const dep = requireDeployment(req.deployment);
      if (!NAME.test(req.cloud)) throw invalidArgument(`cloud "${req.cloud}" is not a valid name`, 'cloud');
      if (req.cloud === opts.cloud)
        throw invalidArgument(
          `cloud "${req.cloud}" is this cloud; a VPN gateway connects to another`,
          'cloud',
        );
      if (req.bgpPeeringIpAddresses.length === 0) {
        throw invalidArgument(
          'bgp_peering_ip_addresses needs at least one address',
          'bgp_peering_ip_addresses',
        );
      }
      return vpn.createGateway(dep, req.cloud, req.bgpPeeringIpAddresses, req.asn);
    },

    async createVpnConnections(req) {
      const dep = requireDeployment(req.deployment);
      if (!NAME.test(req.cloud)) throw invalidArgument(`cloud "${req.cloud}" is not a valid name`, 'cloud');
      return vpn.createConnections(
        dep,
        req.cloud,
        req.asn,
        req.gatewayIpAddresses,
        req.bgpIpAddresses,
        req.sharedKey,
      );
    },

    async deleteVpnConnections(req) {
      const dep = requireDeployment(req.deployment);
      return vpn.deleteConnections(dep, req.cloud);
    },

    async deleteVpnGatewayFor(deployment, cloud) {
      const dep = requireDeployment(deployment as ParagliderDeployment);
      await vpn.deleteGateway(dep, cloud);
      await dropEmptyVpc(dep.namespace, cfg.regions[0]!);
    },

    async destroyAll() {
      const namespaces = new Set((await net.allVpcs()).map((v) => v.namespace));
      for (const region of cfg.regions) {
        for (const i of await liveInstances(region, {})) {
          const del = impl.deleteResource as (r: unknown) => Promise<unknown>;
          await del({
            deployment: { id: '', namespace: tagMap(i.Tags)[TAG.namespace] ?? '' },
            resource: uriOf(region, i.InstanceId!),
          });
        }
      }
      for (const namespace of namespaces) {
        for (const g of await vpn.gateways(namespace)) {
          const remotes = Object.keys(tagMap(g.Tags)).filter((k) => k.startsWith(TAG.remotePrefix));
          for (const k of remotes)
            await vpn.deleteGateway({ id: '', namespace }, k.slice(TAG.remotePrefix.length));
          if (!remotes.length) await vpn.removeGateway(g);
        }
        for (const c of await vpn.connections(namespace)) {
          await vpn.deleteConnections({ id: '', namespace }, tagMap(c.Tags)[TAG.remote] ?? '');
        }
      }
      for (const v of await net.allVpcs()) {
        const full = await net.findVpc(v.namespace, v.region);
        if (full) await net.deleteVpc(full);
      }
    },

    close() {
      clients.close();
    },
  };
  return impl;
}
