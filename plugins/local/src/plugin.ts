// The lab cloud: a CloudPlugin whose VMs, VPCs, firewalls and VPN gateways are
// real Linux namespaces, nftables rulesets, strongSwan and bird on this host.
// See network.ts for the topology. State lives in <stateDir>/state.json and in
// the kernel; a restarted plugin picks both up and changes nothing.
import { fileURLToPath } from 'node:url';
import { create } from '@bufbuild/protobuf';
import { type CommandRunner, ExecRunner, RUN_DIR } from '@skyway/dataplane';
import {
  type CloudPluginImpl,
  type ControllerClient,
  cidrSize,
  cidrsOverlap,
  formatCidr,
  formatIp,
  parseCidr,
  parseIp,
  parseResourceDescription,
} from '@skyway/plugin-sdk';
import {
  AddressSpaceMappingSchema,
  type ParagliderDeployment,
  type PermitListRule,
  ResourceSchema,
} from '@skyway/proto/plugin';
import { checkHost } from './checks.js';
import { type CommandUser, DEFAULT_COMMAND_USER, lookupCommandUser } from './command-user.js';
import { invalid, labError, notFound, precondition } from './errors.js';
import { checkComponent, DEFAULT_INTERNET, LabNames, parseUri } from './names.js';
import { LabNetwork, serial } from './network.js';
import { checkRule, fromReadRule, toFilterRule } from './permit.js';
import { gatewayKey, type LabState, StateFile, type VmState, type VpcState, vmKey, vpcKey } from './state.js';

export const VERSION = '0.1.0';
/** The lab's descriptor (name, version, summary, capabilities, ...), for the controller's plugin registry. */
export const DESCRIPTOR_FILE = fileURLToPath(new URL('../plugin.yaml', import.meta.url));
export const CAPABILITIES = ['permit-lists', 'peering', 'vpn', 'bgp', 'commands'];
export const DEFAULT_REGION = 'r1';
const VPC_PREFIX_LENGTH = 16;
const LAB_INTERNET = parseCidr('198.18.0.0/15');
/** Address spaces come from the controller or the state file: align them rather than refuse. */
const HOST_BITS = { allowHostBits: true };
/** Checks an IPv4 address and returns it unchanged. */
const checkIp = (ip: string, field: string) => {
  parseIp(ip, field);
  return ip;
};

export interface LocalPluginOptions {
  /** This instance's cloud name, e.g. "lab-east". */
  cloud: string;
  controller: ControllerClient;
  /** Default /run/skyway/<cloud>. */
  stateDir?: string;
  runner?: CommandRunner;
  /** The internet namespace shared by the clouds of one lab world (default "sky.inet"). */
  internet?: string;
  /** Run VMs' `description.command` (config `allow_commands`; default false: a create with one is refused). */
  allowCommands?: boolean;
  /** The unprivileged user those commands run as (config `command_user`, default nobody). */
  commandUser?: string;
}

export type LocalPlugin = CloudPluginImpl & {
  readonly cloud: string;
  readonly network: LabNetwork;
  readonly stateDir: string;
  /** Removes every namespace, process and file of this cloud (`skyway lab destroy`). */
  destroyLab(): Promise<void>;
};

interface Dep {
  id: string;
  namespace: string;
}

function requireDeployment(d: ParagliderDeployment | undefined): Dep {
  if (!d) throw invalid('deployment is required', 'deployment');
  const namespace = d.namespace || 'default';
  checkComponent(namespace, 'deployment.namespace');
  return { id: d.id, namespace };
}

const matches = (deps: { id: string; namespace: string }[], namespace: string, deployment: string) =>
  deps.length === 0 ||
  deps.some((d) => (d.namespace || 'default') === namespace && (!d.id || d.id === deployment));

export function createLocalPlugin(opts: LocalPluginOptions): LocalPlugin {
  const names = new LabNames(opts.cloud);
  const cloud = opts.cloud;
  const runner = opts.runner ?? new ExecRunner();
  const internet = opts.internet ?? DEFAULT_INTERNET;
  if (!internet.startsWith('sky')) throw new Error(`internet namespace "${internet}" must start with "sky"`);
  const stateDir = opts.stateDir ?? `${RUN_DIR}/${cloud}`;
  const stateFile = new StateFile(stateDir);
  const net = new LabNetwork(runner, names, internet);
  const ctl = opts.controller;
  let user: CommandUser | undefined;
  const commandUser = () => {
    user ??= lookupCommandUser(opts.commandUser ?? DEFAULT_COMMAND_USER);
    return user;
  };

  /** Mutations of this cloud run one at a time. */
  const locked = <T>(fn: (s: LabState) => Promise<T>) =>
    serial.run(`cloud:${stateDir}`, async () => fn(await stateFile.load()));

  const lookupVm = (s: LabState, uri: string, field = 'resource'): VmState | undefined => {
    const ref = parseUri(uri, field);
    if (ref.cloud !== cloud)
      throw notFound(`${field} "${uri}" belongs to cloud "${ref.cloud}", this is "${cloud}"`);
    return s.vms[vmKey(ref.namespace, ref.region, ref.name)];
  };
  const findVm = (s: LabState, uri: string, field = 'resource'): VmState => {
    const vm = lookupVm(s, uri, field);
    if (!vm) throw notFound(`no resource "${uri}"`);
    return vm;
  };

  const ensureVpc = async (s: LabState, dep: Dep, region: string): Promise<VpcState> => {
    const key = vpcKey(dep.namespace, region);
    let vpc = s.vpcs[key];
    if (!vpc) {
      const res = await ctl.findUnusedAddressSpaces({ sizes: [VPC_PREFIX_LENGTH] });
      const space = res.addressSpaces[0];
      if (!space) throw labError('POOL_EXHAUSTED', 'the controller returned no free address space');
      const n = parseCidr(space, 'address_space', HOST_BITS);
      if (cidrSize(n) < 8) throw precondition(`address space ${space} is too small for a VPC`);
      vpc = {
        namespace: dep.namespace,
        region,
        deployment: dep.id,
        addressSpace: formatCidr(n),
        gatewayIp: formatIp(n.base + 1),
        router: names.router(dep.namespace, region),
        peers: [],
      };
    }
    await net.ensureVpc(vpc, Object.values(s.gateways));
    if (!s.vpcs[key]) {
      s.vpcs[key] = vpc;
      await stateFile.save(s);
      // a new prefix to announce
      await net.syncBird(dep.namespace, Object.values(s.gateways), Object.values(s.vpcs));
    }
    return vpc;
  };

  const allocateIp = (s: LabState, vpc: VpcState): string => {
    const n = parseCidr(vpc.addressSpace, 'address_space', HOST_BITS);
    const used = new Set(
      Object.values(s.vms)
        .filter((v) => v.namespace === vpc.namespace && v.region === vpc.region)
        .map((v) => v.ip),
    );
    for (let i = 2; i < cidrSize(n) - 1; i++) {
      const ip = formatIp(n.base + i);
      if (!used.has(ip)) return ip;
    }
    throw labError('POOL_EXHAUSTED', `VPC ${vpc.addressSpace} has no free address left`);
  };

  const applyRules = async (s: LabState, vm: VmState) => {
    try {
      await net.nft.apply(vm.netns, vm.rules.map(toFilterRule));
    } catch (e) {
      if (
        /rule|target|port|protocol/.test((e as Error).message) &&
        !/command failed/.test((e as Error).message)
      ) {
        throw invalid((e as Error).message, 'rules');
      }
      throw e;
    }
    await stateFile.save(s);
  };

  /** Same cloud, other VPC in the namespace: peer the routers when a target falls inside it. */
  const peerFor = async (s: LabState, vm: VmState, targets: string[]) => {
    const own = s.vpcs[vpcKey(vm.namespace, vm.region)]!;
    for (const other of Object.values(s.vpcs)) {
      if (
        other === own ||
        other.namespace !== vm.namespace ||
        own.peers.includes(vpcKey(other.namespace, other.region))
      )
        continue;
      const otherNet = parseCidr(other.addressSpace, 'address_space', HOST_BITS);
      if (!targets.some((t) => cidrsOverlap(parseCidr(t, 'target', HOST_BITS), otherNet))) continue;
      await net.peer(own, other);
      own.peers.push(vpcKey(other.namespace, other.region));
      other.peers.push(vpcKey(own.namespace, own.region));
      await stateFile.save(s);
    }
  };

  const impl: LocalPlugin = {
    cloud,
    network: net,
    stateDir,

    async describe() {
      return { name: 'local', version: VERSION, capabilities: CAPABILITIES, nowUnixMs: BigInt(Date.now()) };
    },

    async checkCredentials() {
      return checkHost();
    },

    async createResource(req) {
      const dep = requireDeployment(req.deployment);
      const name = checkComponent(req.name, 'name');
      const desc = parseResourceDescription(req.description);
      const region = desc.region === undefined ? DEFAULT_REGION : String(desc.region);
      checkComponent(region, 'description.region');
      if (desc.command !== undefined && typeof desc.command !== 'string') {
        throw invalid(
          'description.command must be a string (run with sh -c inside the VM, as an unprivileged user)',
          'description.command',
        );
      }
      const command = desc.command as string | undefined;
      if (command !== undefined && !opts.allowCommands) {
        throw labError(
          'PERMISSION_DENIED',
          `description.command: cloud "${cloud}" does not run VM commands (its config must set allow_commands: true)`,
          'description.command',
        );
      }
      const user = command === undefined ? undefined : commandUser();
      return locked(async (s) => {
        const key = vmKey(dep.namespace, region, name);
        const existing = s.vms[key];
        if (existing) {
          if ((existing.command ?? '') !== (command ?? '')) {
            throw labError(
              'ALREADY_EXISTS',
              `resource "${existing.uri}" exists with a different description`,
            );
          }
          return { name, uri: existing.uri, ip: existing.ip };
        }
        const vpc = await ensureVpc(s, dep, region);
        const vm: VmState = {
          name,
          namespace: dep.namespace,
          region,
          deployment: dep.id,
          uri: names.uri(dep.namespace, region, name),
          ip: allocateIp(s, vpc),
          netns: names.vm(dep.namespace, region, name),
          command,
          createdAt: new Date().toISOString(),
          rules: [],
        };
        // record first so that a failure half way is still found and deleted
        s.vms[key] = vm;
        await stateFile.save(s);
        try {
          vm.pid = await net.createVm(vm, vpc, user);
        } catch (e) {
          await net.deleteVm(vm).catch(() => {});
          delete s.vms[key];
          await stateFile.save(s);
          throw e;
        }
        await stateFile.save(s);
        return { name, uri: vm.uri, ip: vm.ip };
      });
    },

    async attachResource(req) {
      // An existing lab VM, named by its lab:// URI or its namespace (sky.<cloud>.v.<ns>.<region>.<name>).
      const namespace = req.namespace || req.deployment?.namespace || 'default';
      const s = await stateFile.load();
      const id = req.resource;
      const vm = id.startsWith('lab://') ? lookupVm(s, id) : Object.values(s.vms).find((v) => v.netns === id);
      if (!vm) throw notFound(`no lab VM "${id}" in cloud "${cloud}"`);
      if (vm.namespace !== namespace) {
        throw notFound(`lab VM "${id}" belongs to namespace "${vm.namespace}", not "${namespace}"`);
      }
      if (req.deployment?.id && vm.deployment !== req.deployment.id) {
        throw notFound(`lab VM "${id}" is in deployment "${vm.deployment}", not "${req.deployment.id}"`);
      }
      if (!(await net.netns.exists(vm.netns))) throw notFound(`lab VM "${id}" has no namespace any more`);
      return { name: vm.name, uri: vm.uri, ip: vm.ip };
    },

    async deleteResource(req) {
      requireDeployment(req.deployment);
      return locked(async (s) => {
        const vm = lookupVm(s, req.resource);
        if (!vm) return {};
        await net.deleteVm(vm);
        delete s.vms[vmKey(vm.namespace, vm.region, vm.name)];
        await stateFile.save(s);
        return {};
      });
    },

    async listResources(req) {
      const s = await stateFile.load();
      const live = new Set(await net.netns.list());
      const resources = Object.values(s.vms)
        .filter((vm) => matches(req.deployments, vm.namespace, vm.deployment))
        .map((vm) =>
          create(ResourceSchema, {
            name: vm.name,
            uri: vm.uri,
            ip: vm.ip,
            namespace: vm.namespace,
            deployment: vm.deployment,
            state: live.has(vm.netns) ? 'running' : 'missing',
            addressSpace: s.vpcs[vpcKey(vm.namespace, vm.region)]?.addressSpace ?? '',
          }),
        );
      return { resources };
    },

    async getPermitList(req) {
      const s = await stateFile.load();
      const vm = findVm(s, req.resource);
      const live = await net.nft.read(vm.netns);
      if (live === undefined) {
        if (!(await net.netns.exists(vm.netns)))
          throw notFound(`resource "${vm.uri}" has no namespace any more`);
        // No table: nothing filters this VM, every packet passes.
        return { rules: [], unfiltered: true };
      }
      const stored = new Map(vm.rules.map((r) => [r.name, r]));
      return {
        rules: live.rules.map((r) => fromReadRule(r, stored.get(r.name))),
        unfiltered: live.unfiltered,
        deviations: live.deviations,
      };
    },

    async addPermitListRules(req) {
      const rules = req.rules.map((r: PermitListRule, i: number) => checkRule(r, `rules[${i}]`));
      const seen = new Set<string>();
      for (const [i, r] of rules.entries()) {
        if (seen.has(r.name)) throw invalid(`rules[${i}].name "${r.name}" appears twice`, `rules[${i}].name`);
        seen.add(r.name);
      }
      return locked(async (s) => {
        const vm = findVm(s, req.resource);
        vm.rules = [...vm.rules.filter((r) => !seen.has(r.name)), ...rules];
        await applyRules(s, vm);
        await peerFor(
          s,
          vm,
          rules.flatMap((r) => r.targets),
        );
        return {};
      });
    },

    async deletePermitListRules(req) {
      const drop = new Set(req.ruleNames);
      return locked(async (s) => {
        const vm = findVm(s, req.resource);
        vm.rules = vm.rules.filter((r) => !drop.has(r.name));
        await applyRules(s, vm);
        return {};
      });
    },

    async getUsedAddressSpaces(req) {
      const s = await stateFile.load();
      const groups = new Map<string, { namespace: string; deployment: string; spaces: string[] }>();
      for (const v of Object.values(s.vpcs)) {
        if (!matches(req.deployments, v.namespace, v.deployment)) continue;
        const k = `${v.namespace}\u0000${v.deployment}`;
        const g = groups.get(k) ?? { namespace: v.namespace, deployment: v.deployment, spaces: [] };
        g.spaces.push(v.addressSpace);
        groups.set(k, g);
      }
      return {
        addressSpaceMappings: [...groups.values()].map((g) =>
          create(AddressSpaceMappingSchema, {
            addressSpaces: g.spaces,
            cloud,
            namespace: g.namespace,
            deployment: g.deployment,
          }),
        ),
      };
    },

    async getNetworkAddressSpaces(req) {
      const dep = requireDeployment(req.deployment);
      const s = await stateFile.load();
      return {
        addressSpaces: Object.values(s.vpcs)
          .filter((v) => matches([dep], v.namespace, v.deployment))
          .map((v) => v.addressSpace),
      };
    },

    async getUsedAsns(req) {
      const s = await stateFile.load();
      const asns = new Set(
        Object.values(s.gateways)
          .filter((g) => matches(req.deployments, g.namespace, g.deployment))
          .map((g) => g.asn),
      );
      return { asns: [...asns] };
    },

    async getUsedBgpPeeringIpAddresses(req) {
      const s = await stateFile.load();
      return {
        ipAddresses: Object.values(s.gateways)
          .filter((g) => matches(req.deployments, g.namespace, g.deployment))
          .flatMap((g) => g.bgpPeeringIps),
      };
    },

    async createVpnGateway(req) {
      const dep = requireDeployment(req.deployment);
      const remote = checkComponent(req.cloud, 'cloud');
      if (remote === cloud)
        throw invalid(`cloud "${remote}" is this cloud; a VPN gateway connects to another cloud`, 'cloud');
      if (req.bgpPeeringIpAddresses.length === 0) {
        throw invalid('bgp_peering_ip_addresses needs at least one address', 'bgp_peering_ip_addresses');
      }
      const bgp = req.bgpPeeringIpAddresses.map((ip, i) =>
        checkIp(ip.replace(/\/\d+$/, ''), `bgp_peering_ip_addresses[${i}]`),
      );
      return locked(async (s) => {
        const key = gatewayKey(dep.namespace, remote);
        let g = s.gateways[key];
        const asn = req.asn || g?.asn || (await ctl.findUnusedAsn({})).asn;
        if (g && (g.asn !== asn || g.bgpPeeringIps.join() !== bgp.join())) {
          // re-planned by the controller: rebuild the tunnel namespace with the new parameters
          await net.disconnect({ ...g, connection: undefined }, [], []).catch(() => {});
          await net.netns.delete(g.tunnel);
          g = { ...g, asn, bgpPeeringIps: bgp, connection: undefined };
        }
        if (!g) {
          const tunnel = names.tunnel(dep.namespace, remote);
          g = {
            namespace: dep.namespace,
            deployment: dep.id,
            remoteCloud: remote,
            asn,
            bgpPeeringIps: bgp,
            publicIp: await net.reservePublicIp(tunnel),
            tunnel,
          };
        }
        s.gateways[key] = g;
        await stateFile.save(s);
        await net.ensureTunnel(g, Object.values(s.vpcs));
        await net.syncBird(dep.namespace, Object.values(s.gateways), Object.values(s.vpcs));
        return { asn: g.asn, gatewayIpAddresses: [g.publicIp] };
      });
    },

    async createVpnConnections(req) {
      const dep = requireDeployment(req.deployment);
      const remote = checkComponent(req.cloud, 'cloud');
      if (!req.asn) throw invalid("asn (the remote side's ASN) is required", 'asn');
      if (req.gatewayIpAddresses.length === 0)
        throw invalid('gateway_ip_addresses is empty', 'gateway_ip_addresses');
      if (req.bgpIpAddresses.length === 0) throw invalid('bgp_ip_addresses is empty', 'bgp_ip_addresses');
      const gws = req.gatewayIpAddresses.map((ip, i) => checkIp(ip, `gateway_ip_addresses[${i}]`));
      // The lab's tunnels only ever dial its simulated internet: never an address another cloud (or moto) handed out.
      gws.forEach((ip, i) => {
        if (!cidrsOverlap(parseCidr(`${ip}/32`), LAB_INTERNET)) {
          throw invalid(
            `gateway_ip_addresses[${i}] ${ip} is outside the lab's simulated internet (198.18.0.0/15); the lab dials nothing else`,
            `gateway_ip_addresses[${i}]`,
          );
        }
      });
      const bgps = req.bgpIpAddresses.map((ip, i) =>
        checkIp(ip.replace(/\/\d+$/, ''), `bgp_ip_addresses[${i}]`),
      );
      if (!req.sharedKey) throw invalid('shared_key is required', 'shared_key');
      if (/["\\\n\r]/.test(req.sharedKey) || req.sharedKey.length > 512) {
        throw invalid(
          'shared_key must be at most 512 characters without quotes, backslashes or newlines',
          'shared_key',
        );
      }
      return locked(async (s) => {
        const g = s.gateways[gatewayKey(dep.namespace, remote)];
        if (!g)
          throw precondition(
            `no VPN gateway towards "${remote}" in namespace "${dep.namespace}"; call CreateVpnGateway first`,
          );
        if (g.asn === req.asn)
          throw invalid(`asn ${req.asn} is this gateway's own ASN; eBGP needs two`, 'asn');
        g.connection = { remoteAsn: req.asn, remoteGatewayIps: gws, remoteBgpIps: bgps };
        await stateFile.save(s);
        await net.ensureTunnel(g, Object.values(s.vpcs));
        await net.connect(g, req.sharedKey, Object.values(s.gateways), Object.values(s.vpcs));
        return {};
      });
    },

    async deleteVpnConnections(req) {
      const dep = requireDeployment(req.deployment);
      const remote = checkComponent(req.cloud, 'cloud');
      return locked(async (s) => {
        const g = s.gateways[gatewayKey(dep.namespace, remote)];
        if (!g?.connection) return {};
        g.connection = undefined;
        await stateFile.save(s);
        await net.disconnect(g, Object.values(s.gateways), Object.values(s.vpcs));
        return {};
      });
    },

    async destroyLab() {
      await serial.run(`cloud:${stateDir}`, () => net.destroy(stateDir));
    },
  };
  return impl;
}
