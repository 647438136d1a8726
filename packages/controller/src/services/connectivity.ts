// Cross-cloud connectivity: once per pair of clouds in a namespace, allocate
// ASNs and BGP peering /30s (core IPAM), create a VPN gateway on both sides,
// then VPN connections on both sides with a generated shared key. Idempotent,
// recorded in the store, listed and removable.
import { randomBytes } from 'node:crypto';
import { failedPrecondition, notFound, planConnectivity } from '@skyway/core';
import type { SecretBox } from '../secrets.js';
import type { ConnectionRow, Store } from '../store/store.js';
import type { EventBus } from './events.js';
import type { CloudBinding, PluginManager } from './plugins.js';

export interface ConnectionView {
  namespace: string;
  cloud_a: string;
  cloud_b: string;
  status: string;
  created_at: string;
  detail: Record<string, unknown>;
}

/** Connections are keyed by the sorted pair, so (a,b) and (b,a) are one connection. */
const pair = (x: string, y: string) => (x < y ? [x, y] : [y, x]) as [string, string];
const owner = (ns: string, a: string, b: string) => `connection:${ns}:${a}:${b}`;

export class ConnectivityService {
  private readonly inFlight = new Map<string, Promise<ConnectionRow>>();

  constructor(
    private readonly store: Store,
    private readonly plugins: PluginManager,
    private readonly events: EventBus,
    private readonly secrets: SecretBox,
  ) {}

  /** Makes sure clouds x and y of `namespace` are connected; concurrent callers share one setup. */
  async ensureConnected(namespace: string, x: string, y: string): Promise<ConnectionRow> {
    const [a, b] = pair(x, y);
    const existing = await this.store.connections.get(namespace, a, b);
    if (existing?.status === 'up') return existing;
    const key = owner(namespace, a, b);
    let running = this.inFlight.get(key);
    if (!running) {
      running = this.connect(namespace, a, b).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, running);
    }
    return running;
  }

  private async connect(namespace: string, a: string, b: string): Promise<ConnectionRow> {
    const sideA = this.plugins.get(namespace, a);
    const sideB = this.plugins.get(namespace, b);
    const { asns, bgp } = await this.usedEverywhere();
    // What each side's descriptor says its cloud needs (the AWS plugin: two tunnels, the first address of each /30).
    const caps = (side: CloudBinding) => new Set(side.descriptor?.capabilities ?? []);
    const [capsA, capsB] = [caps(sideA), caps(sideB)];
    const tunnels = capsA.has('vpn-two-tunnels') || capsB.has('vpn-two-tunnels') ? 2 : 1;
    const planFor = (n: number, asnsOf?: { asnA: number; asnB: number }) => {
      const p = planConnectivity({
        cloudA: a,
        cloudB: b,
        usedAsns: asns,
        usedBgpPeeringIps: bgp,
        tunnels: n,
        ...asnsOf,
      });
      if (capsB.has('vpn-bgp-first-host')) {
        if (capsA.has('vpn-bgp-first-host')) {
          throw failedPrecondition(`"${a}" and "${b}" both need the first address of each BGP /30`);
        }
        [p.a.bgpPeeringIps, p.b.bgpPeeringIps] = [p.b.bgpPeeringIps, p.a.bgpPeeringIps];
      }
      return p;
    };
    let plan = planFor(tunnels);
    const who = owner(namespace, a, b);
    const record = (p: typeof plan) =>
      this.store.transaction(async (tx) => {
        await tx.releaseAllocations(who);
        await tx.addAllocation('asn', String(p.a.asn), who);
        await tx.addAllocation('asn', String(p.b.asn), who);
        for (const net of p.networks) await tx.addAllocation('bgp', net, who);
      });
    await record(plan);
    try {
      const gateway = (side: CloudBinding, remote: string, s: typeof plan.a) =>
        this.plugins.call(side, 'could not create its VPN gateway', (c) =>
          c.createVpnGateway({
            deployment: { id: side.deployment, namespace },
            cloud: remote,
            bgpPeeringIpAddresses: s.bgpPeeringIps,
            asn: s.asn,
          }),
        );
      // A two-tunnel side whose addresses come with its connections (AWS) makes two tunnels per
      // address of the other side: that side's gateway goes first, and the plan grows to fit.
      const late = (x: Set<string>, y: Set<string>) =>
        tunnels === 2 && x.has('vpn-ips-after-connection') && !y.has('vpn-ips-after-connection');
      let gwA: Awaited<ReturnType<typeof gateway>>;
      let gwB: Awaited<ReturnType<typeof gateway>>;
      if (late(capsA, capsB) || late(capsB, capsA)) {
        const earlyIsA = late(capsB, capsA);
        const early = () => (earlyIsA ? gateway(sideA, b, plan.a) : gateway(sideB, a, plan.b));
        let gwEarly = await early();
        const want = 2 * Math.max(1, gwEarly.gatewayIpAddresses.length);
        if (want > tunnels) {
          plan = planFor(want, { asnA: plan.a.asn, asnB: plan.b.asn });
          await record(plan);
          gwEarly = await early();
        }
        const gwLate = earlyIsA ? await gateway(sideB, a, plan.b) : await gateway(sideA, b, plan.a);
        [gwA, gwB] = earlyIsA ? [gwEarly, gwLate] : [gwLate, gwEarly];
      } else {
        [gwA, gwB] = await Promise.all([gateway(sideA, b, plan.a), gateway(sideB, a, plan.b)]);
      }
      // letters and digits only, not starting with 0: what every cloud's pre-shared key rules accept (AWS's are the strictest)
      const sharedKey = `k${randomBytes(31).toString('hex')}`;
      const connect = (side: CloudBinding, remote: string, gw: typeof gwA, remoteBgp: string[]) =>
        this.plugins.call(side, 'could not create its VPN connections', (c) =>
          c.createVpnConnections({
            deployment: { id: side.deployment, namespace },
            cloud: remote,
            asn: gw.asn,
            gatewayIpAddresses: gw.gatewayIpAddresses,
            bgpIpAddresses: remoteBgp,
            sharedKey,
          }),
        );
      // A side whose gateway has no address until its connections exist (AWS) connects first and answers with them.
      if (!gwA.gatewayIpAddresses.length || !gwB.gatewayIpAddresses.length) {
        const [first, second] = !gwA.gatewayIpAddresses.length ? ([0, 1] as const) : ([1, 0] as const);
        const sides = [
          { side: sideA, remote: b, gw: gwA, bgp: plan.a.bgpPeeringIps },
          { side: sideB, remote: a, gw: gwB, bgp: plan.b.bgpPeeringIps },
        ];
        const x = sides[first];
        const y = sides[second];
        if (!y.gw.gatewayIpAddresses.length) {
          throw failedPrecondition(
            `neither "${a}" nor "${b}" has a gateway address before its connections exist`,
          );
        }
        const made = await connect(x.side, x.remote, y.gw, y.bgp);
        if (!made.gatewayIpAddresses.length) {
          throw failedPrecondition(`"${x.side.cloud}" made its VPN connections but gave no gateway address`);
        }
        x.gw.gatewayIpAddresses = made.gatewayIpAddresses;
        await connect(y.side, y.remote, x.gw, x.bgp);
      } else {
        await Promise.all([
          connect(sideA, b, gwB, plan.b.bgpPeeringIps),
          connect(sideB, a, gwA, plan.a.bgpPeeringIps),
        ]);
      }
      const detail = {
        [a]: {
          asn: gwA.asn,
          gateway_ip_addresses: gwA.gatewayIpAddresses,
          bgp_peering_ip_addresses: plan.a.bgpPeeringIps,
        },
        [b]: {
          asn: gwB.asn,
          gateway_ip_addresses: gwB.gatewayIpAddresses,
          bgp_peering_ip_addresses: plan.b.bgpPeeringIps,
        },
      };
      await this.store.transaction(async (tx) => {
        await tx.connections.put({
          namespace,
          cloudA: a,
          cloudB: b,
          detail,
          sharedKey: this.secrets.seal(sharedKey),
          status: 'up',
        });
        await this.events.publish('connection.created', `${namespace}/${a}/${b}`, detail, tx);
      });
      return (await this.store.connections.get(namespace, a, b))!;
    } catch (e) {
      await this.store.releaseAllocations(who);
      throw e;
    }
  }

  /** ASNs and BGP peering addresses in use on any cloud, or handed out by us. */
  private async usedEverywhere(): Promise<{ asns: number[]; bgp: string[] }> {
    const asns = new Set((await this.store.allocations('asn')).map(Number));
    const bgp = new Set(await this.store.allocations('bgp'));
    await Promise.all(
      this.plugins.all().map(async (side) => {
        const deployments = [{ id: side.deployment, namespace: side.namespace }];
        const [usedAsns, usedIps] = await Promise.all([
          this.plugins.call(side, 'could not list its ASNs', (c) => c.getUsedAsns({ deployments })),
          this.plugins.call(side, 'could not list its BGP peering addresses', (c) =>
            c.getUsedBgpPeeringIpAddresses({ deployments }),
          ),
        ]);
        for (const n of usedAsns.asns) asns.add(n);
        for (const ip of usedIps.ipAddresses) bgp.add(ip);
      }),
    );
    return { asns: [...asns], bgp: [...bgp] };
  }

  async list(namespace?: string): Promise<ConnectionView[]> {
    return (await this.store.connections.list(namespace)).map(view);
  }

  async delete(namespace: string, x: string, y: string): Promise<void> {
    const [a, b] = pair(x, y);
    const row = await this.store.connections.get(namespace, a, b);
    if (!row) throw notFound(`no connection between "${a}" and "${b}" in namespace "${namespace}"`);
    for (const [side, remote] of [
      [a, b],
      [b, a],
    ] as const) {
      const binding = this.plugins.get(namespace, side);
      await this.plugins.call(binding, 'could not delete its VPN connections', (c) =>
        c.deleteVpnConnections({ deployment: { id: binding.deployment, namespace }, cloud: remote }),
      );
    }
    await this.store.transaction(async (tx) => {
      await tx.connections.delete(namespace, a, b);
      await tx.releaseAllocations(owner(namespace, a, b));
      await this.events.publish('connection.deleted', `${namespace}/${a}/${b}`, {}, tx);
    });
  }
}

/** The API view of a connection: never the shared key. */
function view(c: ConnectionRow): ConnectionView {
  return {
    namespace: c.namespace,
    cloud_a: c.cloudA,
    cloud_b: c.cloudB,
    status: c.status,
    created_at: c.createdAt,
    detail: c.detail,
  };
}
