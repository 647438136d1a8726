// The lab cloud's topology on one host, built from dataplane drivers.
//
//   VM netns ──veth── router netns (bridge skybr0 = VPC, gateway .1) ──veth── hub netns
//                         │ peering veth (same cloud, other VPC)              │ veth per remote cloud
//                      router netns                                       tunnel netns ──veth── internet netns
//                                                                   (charon+libipsec, public IP)   (bridge)
//
// - A router routes its VPC; default route to the hub (no address: the hub
//   answers ARP by proxy for what it can route). The hub drops router→router
//   traffic, so only explicit peering links connect VPCs of one cloud.
// - The hub runs bird: one eBGP session per remote cloud, sourced from this
//   side's peering address (on the hub's link to that tunnel namespace),
//   multihop through the two tunnel namespaces; it announces the namespace's
//   VPC prefixes and installs what it learns into the hub's kernel table.
// - A tunnel namespace per remote cloud holds the public address and one
//   charon (libipsec can pick the outbound SA by selector only, so one peer per
//   namespace); everything it does not route locally goes into ipsec0, and it
//   answers ARP by proxy for the remote peering address.
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import {
  type BgpNeighbor,
  Bird,
  type CommandRunner,
  Links,
  Netns,
  Nftables,
  RUN_DIR,
  Strongswan,
  shortHash,
  TUNNEL_RULE,
  waitFor,
} from '@skyway/dataplane';
import { formatCidr, formatIp, parseCidr, parseIp, SerialQueue } from '@skyway/plugin-sdk';
import { asUser, type CommandUser } from './command-user.js';
import { labError, precondition } from './errors.js';
import { IF, type LabNames } from './names.js';
import type { GatewayState, VmState, VpcState } from './state.js';

const HUB_FILTER = `table inet skyhub
delete table inet skyhub
table inet skyhub {
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "skyr*" oifname "skyr*" drop
  }
}
`;

const PUBLIC_FIRST = parseIp('198.18.0.10');
const PUBLIC_LAST = parseIp('198.19.255.250');

/** Work on one cloud's state file, or on a shared internet namespace, runs one at a time (per process). */
export const serial = new SerialQueue();

export class LabNetwork {
  readonly netns: Netns;
  readonly links: Links;
  readonly nft: Nftables;
  readonly ipsec: Strongswan;
  readonly bird: Bird;

  constructor(
    readonly runner: CommandRunner,
    readonly names: LabNames,
    readonly internet: string,
  ) {
    this.netns = new Netns(runner);
    this.links = new Links(runner);
    this.nft = new Nftables(runner);
    this.ipsec = new Strongswan(runner);
    this.bird = new Bird(runner);
  }

  private async forwarding(ns: string) {
    await this.netns.enableForwarding(ns);
  }

  /** The shared internet: a namespace with one bridge (shared by every lab cloud on the host). */
  async ensureInternet(): Promise<void> {
    await serial.run(`internet:${this.internet}`, async () => {
      await this.netns.create(this.internet);
      try {
        await this.links.addBridge(this.internet, IF.inet);
      } catch (e) {
        // another process may have created it in between
        if (!(await this.links.exists(this.internet, IF.inet))) throw e;
      }
    });
  }

  async ensureHub(ns: string): Promise<string> {
    const hub = this.names.hub(ns);
    await this.netns.create(hub);
    await this.forwarding(hub);
    await this.nft.applyRaw(hub, HUB_FILTER);
    return hub;
  }

  /** Router netns with the VPC bridge, linked to the hub; routes to the VPC from the hub and from every tunnel. */
  async ensureVpc(vpc: VpcState, gateways: GatewayState[]): Promise<void> {
    const net = parseCidr(vpc.addressSpace, 'address_space', { allowHostBits: true });
    const hub = await this.ensureHub(vpc.namespace);
    await this.netns.create(vpc.router);
    await this.forwarding(vpc.router);
    await this.links.addBridge(vpc.router, IF.bridge);
    await this.links.addAddress(vpc.router, IF.bridge, `${vpc.gatewayIp}/${net.prefix}`);
    const hubIf = IF.hubToRouter(vpc.router);
    await this.links.addVeth(hub, hubIf, vpc.router, IF.hub);
    await this.links.proxyArp(hub, hubIf);
    await this.links.replaceRoute(vpc.router, 'default', { dev: IF.hub });
    await this.links.replaceRoute(hub, formatCidr(net), { via: vpc.gatewayIp, dev: hubIf, onlink: true });
    for (const g of gateways) {
      if (g.namespace === vpc.namespace && g.bgpPeeringIps[0]) await this.tunnelRouteToVpc(g, vpc);
    }
  }

  async deleteVpc(vpc: VpcState): Promise<void> {
    await this.netns.delete(vpc.router);
  }

  private async tunnelRouteToVpc(g: GatewayState, vpc: VpcState) {
    if (!(await this.netns.exists(g.tunnel))) return;
    await this.links.replaceRoute(g.tunnel, vpc.addressSpace, {
      via: g.bgpPeeringIps[0],
      dev: IF.hub,
      onlink: true,
    });
  }

  /**
   * A VM: its own netns, one veth into the VPC bridge, default route via the VPC gateway, deny-all firewall;
   * its command (if any) runs there as `user`.
   */
  async createVm(vm: VmState, vpc: VpcState, user?: CommandUser): Promise<number | undefined> {
    const net = parseCidr(vpc.addressSpace, 'address_space', { allowHostBits: true });
    await this.netns.create(vm.netns);
    // deny-all first, before the VM has a link
    await this.nft.apply(vm.netns, []);
    const port = IF.vmPort(vm.netns);
    await this.links.addVeth(vpc.router, port, vm.netns, IF.eth);
    await this.links.setMaster(vpc.router, port, IF.bridge);
    await this.links.addAddress(vm.netns, IF.eth, `${vm.ip}/${net.prefix}`);
    await this.links.replaceRoute(vm.netns, 'default', { via: vpc.gatewayIp, dev: IF.eth });
    if (!vm.command) return undefined;
    if (!user) throw precondition('this lab cloud does not run VM commands');
    const dir = `${RUN_DIR}/${vm.netns}`;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // The VM is a machine of its own: its unprivileged user may bind any port of it (web servers on 80).
    await this.runner.run('sysctl', ['-qw', 'net.ipv4.ip_unprivileged_port_start=0'], { netns: vm.netns });
    const [cmd, args] = asUser(user, vm.command);
    return this.runner.spawnDetached(cmd, args, {
      netns: vm.netns,
      logFile: `${dir}/command.log`,
    });
  }

  /** Kills everything running in the VM (its command included) and removes it; the veth goes with it. */
  async deleteVm(vm: VmState): Promise<void> {
    await this.netns.delete(vm.netns);
    await rm(`${RUN_DIR}/${vm.netns}`, { recursive: true, force: true });
  }

  /** Peers two routers of one cloud with a veth pair and a route each way. */
  async peer(a: VpcState, b: VpcState): Promise<void> {
    const aIf = IF.peer(b.router);
    const bIf = IF.peer(a.router);
    await this.links.addVeth(a.router, aIf, b.router, bIf);
    await this.links.replaceRoute(a.router, b.addressSpace, { via: b.gatewayIp, dev: aIf, onlink: true });
    await this.links.replaceRoute(b.router, a.addressSpace, { via: a.gatewayIp, dev: bIf, onlink: true });
  }

  /** Reserves a public address on the internet bridge (atomic across processes). */
  async reservePublicIp(owner: string): Promise<string> {
    const dir = `${RUN_DIR}/${this.internet}/addr`;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const f of await readdir(dir)) {
      if ((await readFile(`${dir}/${f}`, 'utf8').catch(() => '')) === owner) return f;
    }
    // start at a point derived from the owner, to keep concurrent reservations apart
    const span = PUBLIC_LAST - PUBLIC_FIRST;
    const start = Number.parseInt(shortHash(owner, 6), 16) % span;
    for (let i = 0; i < span; i++) {
      const ip = formatIp(PUBLIC_FIRST + ((start + i) % span));
      try {
        const fh = await open(`${dir}/${ip}`, 'wx', 0o600);
        await fh.writeFile(owner);
        await fh.close();
        return ip;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    throw labError('POOL_EXHAUSTED', 'no free address left on the lab internet (198.18.0.0/15)');
  }

  async releasePublicIp(ip: string): Promise<void> {
    await rm(`${RUN_DIR}/${this.internet}/addr/${ip}`, { force: true });
  }

  /** The tunnel namespace of a gateway: public address on the internet, link to the hub with the peering address. */
  async ensureTunnel(g: GatewayState, vpcs: VpcState[]): Promise<void> {
    await this.ensureInternet();
    const hub = await this.ensureHub(g.namespace);
    await this.netns.create(g.tunnel);
    await this.forwarding(g.tunnel);
    const port = IF.inetPort(g.tunnel);
    await this.links.addVeth(this.internet, port, g.tunnel, IF.eth);
    await this.links.setMaster(this.internet, port, IF.inet);
    await this.links.addAddress(g.tunnel, IF.eth, `${g.publicIp}/15`);
    const hubIf = IF.hubToTunnel(g.tunnel);
    await this.links.addVeth(hub, hubIf, g.tunnel, IF.hub);
    await this.links.proxyArp(g.tunnel, IF.hub);
    const local = g.bgpPeeringIps[0]!;
    await this.links.addAddress(hub, hubIf, `${local}/30`);
    await this.links.replaceRoute(g.tunnel, `${local}/32`, { dev: IF.hub });
    for (const v of vpcs) if (v.namespace === g.namespace) await this.tunnelRouteToVpc(g, v);
  }

  /** Starts (or reloads) the IPsec tunnel of a gateway and its BGP session in the hub. */
  async connect(g: GatewayState, psk: string, gateways: GatewayState[], vpcs: VpcState[]): Promise<void> {
    const c = g.connection!;
    await this.ipsec.start(g.tunnel);
    await waitFor(`ipsec0 in ${g.tunnel}`, () => this.links.exists(g.tunnel, 'ipsec0'), 5000);
    // Everything the tunnel namespace does not route locally is for the far side; libipsec's
    // own table 220 must not override the local routes (see dataplane strongswan.ts).
    await this.links.ensureRule(g.tunnel, TUNNEL_RULE.pref, [...TUNNEL_RULE.selector]);
    await this.links.replaceRoute(g.tunnel, 'default', { dev: 'ipsec0' });
    const name = connName(g.remoteCloud);
    await this.ipsec.load(g.tunnel, [
      { name, localAddr: g.publicIp, remoteAddr: c.remoteGatewayIps[0]!, psk, startAction: 'trap' },
    ]);
    await this.syncBird(g.namespace, gateways, vpcs);
    // Bring the tunnel up now rather than on the first packet (the far side may not be
    // ready yet: the trap policy retries); not again when it is up already.
    const up = (await this.ipsec.listSas(g.tunnel).catch(() => [])).some((sa) => sa.state === 'ESTABLISHED');
    if (!up) void this.ipsec.initiate(g.tunnel, name, 5).catch(() => false);
  }

  async disconnect(g: GatewayState, gateways: GatewayState[], vpcs: VpcState[]): Promise<void> {
    await this.ipsec.stop(g.tunnel);
    await rm(`${RUN_DIR}/${g.tunnel}/strongswan/swanctl.conf`, { force: true });
    await this.syncBird(g.namespace, gateways, vpcs);
  }

  /** bird in the hub: one neighbor per connected gateway, announcing the namespace's VPC prefixes. */
  async syncBird(ns: string, gateways: GatewayState[], vpcs: VpcState[]): Promise<void> {
    const hub = this.names.hub(ns);
    const connected = gateways.filter((g) => g.namespace === ns && g.connection);
    if (connected.length === 0) {
      await this.bird.stop(hub);
      return;
    }
    const neighbors: BgpNeighbor[] = connected.map((g) => ({
      name: `r_${shortHash(g.remoteCloud)}`,
      localAs: g.asn,
      peerIp: g.connection!.remoteBgpIps[0]!,
      peerAs: g.connection!.remoteAsn,
      sourceIp: g.bgpPeeringIps[0],
      multihop: 4,
    }));
    const id = Number.parseInt(shortHash(hub), 16) >>> 0;
    await this.bird.apply(hub, {
      routerId: formatIp(id === 0 ? 1 : id),
      exportPrefixes: vpcs.filter((v) => v.namespace === ns).map((v) => v.addressSpace),
      neighbors,
      // the peering /30s on the hub's tunnel links resolve the BGP next hops
      directInterfaces: ['skyt*'],
    });
  }

  /** Removes every namespace, process and file of this cloud, and the internet when no cloud uses it any more. */
  async destroy(stateDir: string): Promise<void> {
    const { teardown } = await import('@skyway/dataplane');
    const prefix = this.names.prefix;
    const ownDirs = (await readdir(RUN_DIR).catch(() => [] as string[]))
      .filter((d) => d.startsWith(prefix))
      .map((d) => `${RUN_DIR}/${d}`);
    await teardown(this.runner, { prefix, dirs: [...ownDirs, stateDir] });
    const addrDir = `${RUN_DIR}/${this.internet}/addr`;
    for (const f of await readdir(addrDir).catch(() => [] as string[])) {
      const owner = await readFile(`${addrDir}/${f}`, 'utf8').catch(() => '');
      if (owner.startsWith(prefix)) await rm(`${addrDir}/${f}`, { force: true });
    }
    if ((await readdir(addrDir).catch(() => [] as string[])).length === 0) {
      await teardown(this.runner, { prefix: this.internet, dirs: [`${RUN_DIR}/${this.internet}`] });
    }
  }
}

/** swanctl connection name for a remote cloud. */
export const connName = (remote: string) => `to_${remote.replace(/[^A-Za-z0-9_-]/g, '_')}`;

/**
 * Removes every lab cloud on this host (`skyway lab destroy` without a cloud
 * name): all `sky.` namespaces with their processes, their run directories,
 * and the state directories under /run/skyway that hold a lab state.json.
 * Namespaces of other Skyway parts (other prefixes) are left alone.
 */
export async function destroyAllLabs(runner: CommandRunner): Promise<void> {
  const { teardown } = await import('@skyway/dataplane');
  const entries = await readdir(RUN_DIR).catch(() => [] as string[]);
  const dirs: string[] = [];
  for (const e of entries) {
    if (e.startsWith('sky.')) dirs.push(`${RUN_DIR}/${e}`);
    else if (
      await readFile(`${RUN_DIR}/${e}/state.json`, 'utf8').then(
        (t) => /"vpcs"/.test(t),
        () => false,
      )
    ) {
      dirs.push(`${RUN_DIR}/${e}`);
    }
  }
  await teardown(runner, { prefix: 'sky.', dirs });
}
