// Planning an overlay (SCC's hub/device model) as pure data: which tunnels
// each hub and device has, who initiates, what each carries, which routes and
// NAT rules go with them. The controller allocates overlay IPs and ports
// first (overlay-iprange.ts) and hands them in; the plan is then a function
// of its input, so re-planning after any change gives every site its whole
// desired configuration.
//
// Addressing: every site talks through the overlay from an overlay IP (OIP)
// of the overlay's ranges; public IPs only carry IKE and ESP. A hub and a
// device with public IPs hold an OIP of their own (direct tunnels run between
// those); a hub-device connection gives the device one more OIP, handed to it
// by the hub through IKE configuration payloads. Traffic selectors are exact
// per peer (no 0.0.0.0/0 === 0.0.0.0/0) because strongSwan's kernel-libipsec
// picks the outbound SA by selector alone.
import type { IpRange } from './overlay-iprange.js';
import { swanName } from './overlay-names.js';
import { espProposal, ikeProposal, type ProposalSpec } from './overlay-proposal.js';

export type SiteType = 'Hub' | 'Device';
export type ConnectionKind = 'hub-to-hub' | 'hub-to-device' | 'device-to-device';

export interface PlanHub {
  name: string;
  publicIps: string[];
  /** The hub's own OIP; without one it has no tunnels yet. */
  oip?: string;
}

export interface PlanDevice {
  name: string;
  publicIps: string[];
  forceHubConnectivity: boolean;
  useHub4Internet: boolean;
  proxyHub?: string;
  proxyHubPort?: number;
  /** Own OIP of a device with public IPs (mode 1), for its direct tunnels. */
  oip?: string;
}

export interface PlanHubDevice {
  hub: string;
  device: string;
  isDelegateHub: boolean;
  /** The OIP the hub hands the device on this connection. */
  oip?: string;
}

export interface OverlayPlanInput {
  overlay: string;
  proposals: ProposalSpec[];
  ranges: IpRange[];
  hubs: PlanHub[];
  devices: PlanDevice[];
  hubDevices: PlanHubDevice[];
}

export interface SiteRef {
  type: SiteType;
  name: string;
}

export interface SiteTunnel {
  /** strongSwan connection (and child) name, unique on the site. */
  name: string;
  /** The SCC connection object this tunnel is one end of. */
  connection: string;
  peer: SiteRef;
  role: 'initiator' | 'responder';
  localAddrs: string[];
  remoteAddrs: string[];
  /** IKE identities: the CNs of the overlay certificates, as SCC names them. */
  localId: string;
  remoteId: string;
  localTs: string[];
  remoteTs: string[];
  /** The initiator asks the responder for a virtual IP (IKE configuration payload). */
  requestVip?: boolean;
  /** The responder's pool: the single address it hands the initiator. */
  pool?: string;
  ikeProposals: string[];
  espProposals: string[];
}

export interface SiteRoute {
  /** Routed into the tunnel device. */
  dst: string;
  /** Source address for traffic the site itself sends. */
  src?: string;
}

export interface SiteDnat {
  port: number;
  to: string;
  toPort: number;
}

export interface SiteConfig {
  overlay: string;
  site: SiteRef;
  /** OIPs the site holds itself (virtual IPs come with their tunnels). */
  overlayIps: string[];
  tunnels: SiteTunnel[];
  routes: SiteRoute[];
  /** TCP on the site's public address, port `port`, goes to `to`:`toPort`. */
  dnat: SiteDnat[];
  /** Traffic from these prefixes leaving to the underlay is masqueraded. */
  snat: string[];
  /** Peer public addresses that must stay on the underlay (IKE and ESP go there). */
  underlay: string[];
}

export interface ConnectionEnd {
  /** `Hub.<name>` or `Device.<name>`, as SCC names them. */
  name: string;
  type: SiteType;
  ip: string;
}

export interface PlannedConnection {
  /** `<end1>-<end2>`, as SCC names connections. */
  name: string;
  kind: ConnectionKind;
  end1: ConnectionEnd;
  end2: ConnectionEnd;
  /** Why the connection has no tunnel yet (no proposals, no free OIP), when it has none. */
  blocked?: string;
}

export interface OverlayPlan {
  sites: SiteConfig[];
  connections: PlannedConnection[];
}

/** SCC's device modes: 1 = direct tunnels from its public IPs, 2 = only through hubs. */
export function deviceMode(d: Pick<PlanDevice, 'publicIps' | 'forceHubConnectivity'>): 1 | 2 {
  return d.publicIps.length > 0 && !d.forceHubConnectivity ? 1 : 2;
}

export const endName = (type: SiteType, name: string) => `${type}.${name}`;
export const certCn = (type: SiteType, name: string) =>
  `CN=${type === 'Hub' ? 'hub' : 'device'}-${name}-cert`;
export const siteKey = (s: SiteRef) => endName(s.type, s.name);
const host = (ip: string) => `${ip}/32`;
const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The hub a device sends its own traffic (and with useHub4Internet, its internet traffic) through. */
export function primaryHub(device: PlanDevice, conns: readonly PlanHubDevice[]): PlanHubDevice | undefined {
  const mine = conns.filter((c) => c.device === device.name && c.oip);
  return (
    mine.find((c) => c.isDelegateHub) ??
    mine.find((c) => c.hub === device.proxyHub) ??
    [...mine].sort((a, b) => (a.hub < b.hub ? -1 : 1))[0]
  );
}

export function planOverlay(input: OverlayPlanInput): OverlayPlan {
  const { overlay } = input;
  const hubs = [...input.hubs].sort(byName);
  const devices = [...input.devices].sort(byName);
  const hubByName = new Map(hubs.map((h) => [h.name, h]));
  const deviceByName = new Map(devices.map((d) => [d.name, d]));
  const conns = input.hubDevices.filter((c) => hubByName.has(c.hub) && deviceByName.has(c.device));
  const ike = input.proposals.map(ikeProposal);
  const esp = input.proposals.map(espProposal);
  const overlayNets = [...new Set(input.ranges.map((r) => r.cidr))].sort();

  const sites = new Map<string, SiteConfig>();
  const site = (type: SiteType, name: string): SiteConfig => {
    const key = endName(type, name);
    let s = sites.get(key);
    if (!s) {
      s = {
        overlay,
        site: { type, name },
        overlayIps: [],
        tunnels: [],
        routes: [],
        dnat: [],
        snat: [],
        underlay: [],
      };
      sites.set(key, s);
    }
    return s;
  };
  for (const h of hubs) site('Hub', h.name).overlayIps.push(...(h.oip ? [h.oip] : []));
  for (const d of devices) {
    const s = site('Device', d.name);
    if (deviceMode(d) === 1 && d.oip) s.overlayIps.push(d.oip);
  }

  const connections: PlannedConnection[] = [];
  const blockedBy = (...missing: Array<[boolean, string]>): string | undefined => {
    if (ike.length === 0) return 'the overlay has no proposals';
    return missing.find(([m]) => m)?.[1];
  };
  const tunnelName = (peer: SiteRef) =>
    `${swanName(overlay)}-${peer.type === 'Hub' ? 'h' : 'd'}-${swanName(peer.name)}`;
  const addPair = (
    a: {
      ref: SiteRef;
      addrs: string[];
      ts: string[];
      vip?: boolean;
      pool?: string;
      role: 'initiator' | 'responder';
    },
    b: {
      ref: SiteRef;
      addrs: string[];
      ts: string[];
      vip?: boolean;
      pool?: string;
      role: 'initiator' | 'responder';
    },
    connection: string,
  ) => {
    for (const [me, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      const t: SiteTunnel = {
        name: tunnelName(peer.ref),
        connection,
        peer: peer.ref,
        role: me.role,
        localAddrs: me.addrs,
        remoteAddrs: me.role === 'responder' && peer.vip ? ['%any'] : peer.addrs,
        localId: certCn(me.ref.type, me.ref.name),
        remoteId: certCn(peer.ref.type, peer.ref.name),
        localTs: me.ts,
        remoteTs: peer.ts,
        ikeProposals: ike,
        espProposals: esp,
      };
      if (me.vip) t.requestVip = true;
      if (me.pool) t.pool = me.pool;
      const s = site(me.ref.type, me.ref.name);
      s.tunnels.push(t);
      for (const ip of peer.addrs) if (ip !== '%any' && !s.underlay.includes(ip)) s.underlay.push(ip);
    }
  };

  // What each hub carries for its own side: its OIP and the OIPs of its devices.
  const behind = new Map<string, string[]>();
  for (const h of hubs) {
    const mine = conns.filter((c) => c.hub === h.name && c.oip).map((c) => host(c.oip!));
    behind.set(h.name, h.oip ? [host(h.oip), ...mine.sort()] : []);
  }

  // Hubs: a full mesh; the smaller name initiates.
  for (let i = 0; i < hubs.length; i++) {
    for (let j = i + 1; j < hubs.length; j++) {
      const [a, b] = [hubs[i]!, hubs[j]!];
      const name = `${endName('Hub', a.name)}-${endName('Hub', b.name)}`;
      const blocked = blockedBy([
        !a.oip || !b.oip,
        'a hub has no overlay IP yet (the overlay has no free ip range address)',
      ]);
      connections.push({
        name,
        kind: 'hub-to-hub',
        end1: { name: endName('Hub', a.name), type: 'Hub', ip: a.publicIps[0] ?? '' },
        end2: { name: endName('Hub', b.name), type: 'Hub', ip: b.publicIps[0] ?? '' },
        ...(blocked ? { blocked } : {}),
      });
      if (blocked) continue;
      addPair(
        {
          ref: { type: 'Hub', name: a.name },
          addrs: a.publicIps,
          ts: behind.get(a.name)!,
          role: 'initiator',
        },
        {
          ref: { type: 'Hub', name: b.name },
          addrs: b.publicIps,
          ts: behind.get(b.name)!,
          role: 'responder',
        },
        name,
      );
    }
  }

  // Devices with public IPs: direct tunnels between every two; the smaller name initiates.
  const direct = devices.filter((d) => deviceMode(d) === 1);
  for (let i = 0; i < direct.length; i++) {
    for (let j = i + 1; j < direct.length; j++) {
      const [a, b] = [direct[i]!, direct[j]!];
      const name = `${endName('Device', a.name)}-${endName('Device', b.name)}`;
      const blocked = blockedBy([
        !a.oip || !b.oip,
        'a device has no overlay IP yet (the overlay has no free ip range address)',
      ]);
      connections.push({
        name,
        kind: 'device-to-device',
        end1: { name: endName('Device', a.name), type: 'Device', ip: a.publicIps[0]! },
        end2: { name: endName('Device', b.name), type: 'Device', ip: b.publicIps[0]! },
        ...(blocked ? { blocked } : {}),
      });
      if (blocked) continue;
      addPair(
        { ref: { type: 'Device', name: a.name }, addrs: a.publicIps, ts: [host(a.oip!)], role: 'initiator' },
        { ref: { type: 'Device', name: b.name }, addrs: b.publicIps, ts: [host(b.oip!)], role: 'responder' },
        name,
      );
    }
  }

  // Hub-device connections: the device initiates (it may sit behind NAT) and gets its OIP from the hub.
  for (const c of [...conns].sort((x, y) => (x.hub + x.device < y.hub + y.device ? -1 : 1))) {
    const h = hubByName.get(c.hub)!;
    const d = deviceByName.get(c.device)!;
    const name = `${endName('Hub', h.name)}-${endName('Device', d.name)}`;
    const blocked = blockedBy(
      [!c.oip, "no free overlay IP in the overlay's ip ranges for this connection"],
      [!h.oip, 'the hub has no overlay IP yet'],
    );
    connections.push({
      name,
      kind: 'hub-to-device',
      end1: { name: endName('Hub', h.name), type: 'Hub', ip: h.publicIps[0] ?? '' },
      end2: { name: endName('Device', d.name), type: 'Device', ip: c.oip ?? '' },
      ...(blocked ? { blocked } : {}),
    });
    if (blocked) continue;
    const internet = d.useHub4Internet && primaryHub(d, conns)?.hub === h.name;
    const reach = internet ? ['0.0.0.0/0'] : overlayNets;
    addPair(
      { ref: { type: 'Hub', name: h.name }, addrs: h.publicIps, ts: reach, pool: c.oip, role: 'responder' },
      {
        ref: { type: 'Device', name: d.name },
        addrs: d.publicIps.length > 0 ? d.publicIps : ['%any'],
        ts: [host(c.oip!)],
        vip: true,
        role: 'initiator',
      },
      name,
    );
    const hs = site('Hub', h.name);
    if (internet) hs.snat.push(host(c.oip!));
    if (d.proxyHub === h.name && d.proxyHubPort)
      hs.dnat.push({ port: d.proxyHubPort, to: c.oip!, toPort: 6443 });
  }

  // Routes: the overlay's prefixes go into the tunnels, from the site's own overlay address.
  for (const h of hubs) {
    if (!h.oip) continue;
    site('Hub', h.name).routes.push(...overlayNets.map((dst) => ({ dst, src: h.oip })));
  }
  for (const d of devices) {
    const s = site('Device', d.name);
    const primary = primaryHub(d, conns);
    const own = deviceMode(d) === 1 ? d.oip : undefined;
    const src = primary?.oip ?? own;
    if (!src || s.tunnels.length === 0) continue;
    s.routes.push(...overlayNets.map((dst) => ({ dst, src })));
    if (own && primary) {
      // Direct peers answer to the device's own OIP, not to the one its hub gave it.
      for (const t of s.tunnels)
        if (t.peer.type === 'Device') s.routes.push(...t.remoteTs.map((dst) => ({ dst, src: own })));
    }
    if (d.useHub4Internet && primary) s.routes.push({ dst: '0.0.0.0/0', src: primary.oip });
  }

  const ordered = [...sites.values()].sort((x, y) => (siteKey(x.site) < siteKey(y.site) ? -1 : 1));
  for (const s of ordered) s.tunnels.sort(byName);
  return { sites: ordered, connections };
}

/** Every address the plan's input holds in the overlay's ranges (for allocation). */
export function usedOverlayIps(
  input: Pick<OverlayPlanInput, 'hubs' | 'devices' | 'hubDevices'>,
): Set<string> {
  const used = new Set<string>();
  for (const x of [...input.hubs, ...input.devices, ...input.hubDevices]) if (x.oip) used.add(x.oip);
  return used;
}
