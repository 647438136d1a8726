// Links, addresses and routes inside namespaces, read back through `ip -j`.
import { assertIfName, assertSkyName } from './names.js';
import type { CommandRunner } from './runner.js';

export interface LinkInfo {
  ifname: string;
  kind?: string;
  master?: string;
  up: boolean;
  mac?: string;
  addresses: string[];
}

export interface RouteInfo {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  table?: string;
}

interface IpJsonLink {
  ifname: string;
  flags?: string[];
  operstate?: string;
  master?: string;
  address?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

export function parseLinks(json: string): LinkInfo[] {
  if (!json.trim()) return [];
  return (JSON.parse(json) as IpJsonLink[]).map((l) => ({
    ifname: l.ifname,
    kind: l.linkinfo?.info_kind,
    master: l.master,
    up: (l.flags ?? []).includes('UP'),
    mac: l.address,
    addresses: (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
  }));
}

export function parseIpRoutes(json: string): RouteInfo[] {
  if (!json.trim()) return [];
  return (
    JSON.parse(json) as { dst: string; gateway?: string; dev?: string; protocol?: string; table?: string }[]
  ).map((r) => ({ dst: r.dst, gateway: r.gateway, dev: r.dev, protocol: r.protocol, table: r.table }));
}

export class Links {
  constructor(private readonly runner: CommandRunner) {}

  private ip(netns: string, args: string[], allowFail = false) {
    return this.runner.run('ip', args, { netns: assertSkyName('netns', netns), allowFail });
  }

  /** Links with their IPv4 addresses (`ip -j -d addr`). */
  async list(netns: string): Promise<LinkInfo[]> {
    return parseLinks((await this.ip(netns, ['-j', '-d', 'addr', 'show'])).stdout);
  }

  async exists(netns: string, ifname: string): Promise<boolean> {
    const r = await this.ip(netns, ['-j', 'link', 'show', 'dev', ifname], true);
    return r.code === 0;
  }

  /**
   * A veth pair with each end created directly in its namespace (never in the
   * host's), both ends up. Idempotent: an existing `aName` in `aNs` is kept.
   */
  async addVeth(aNs: string, aName: string, bNs: string, bName: string, opts: { mtu?: number } = {}) {
    assertIfName(aName);
    assertIfName(bName);
    if (await this.exists(aNs, aName)) return;
    const mtu = opts.mtu ? ['mtu', String(opts.mtu)] : [];
    await this.ip(aNs, [
      'link',
      'add',
      aName,
      ...mtu,
      'type',
      'veth',
      'peer',
      'name',
      bName,
      'netns',
      bNs,
      ...mtu,
    ]);
    await this.ip(aNs, ['link', 'set', aName, 'up']);
    await this.ip(bNs, ['link', 'set', bName, 'up']);
  }

  async addBridge(netns: string, name: string): Promise<void> {
    assertIfName(name);
    if (!(await this.exists(netns, name))) await this.ip(netns, ['link', 'add', name, 'type', 'bridge']);
    await this.ip(netns, ['link', 'set', name, 'up']);
  }

  async setMaster(netns: string, ifname: string, bridge: string): Promise<void> {
    await this.ip(netns, ['link', 'set', assertIfName(ifname), 'master', assertIfName(bridge), 'up']);
  }

  async delete(netns: string, ifname: string): Promise<void> {
    await this.ip(netns, ['link', 'del', assertIfName(ifname)], true);
  }

  /** Adds an address (idempotent), e.g. `10.1.0.1/16`. */
  async addAddress(netns: string, ifname: string, cidr: string): Promise<void> {
    const r = await this.ip(netns, ['addr', 'replace', cidr, 'dev', ifname], true);
    if (r.code !== 0)
      throw new Error(`ip addr replace ${cidr} dev ${ifname} in ${netns}: ${r.stderr.trim()}`);
  }

  /** `ip route replace <dst> [via gw] [dev d] [onlink]` (idempotent). */
  async replaceRoute(netns: string, dst: string, opts: { via?: string; dev?: string; onlink?: boolean }) {
    const args = ['route', 'replace', dst];
    if (opts.via) args.push('via', opts.via);
    if (opts.dev) args.push('dev', opts.dev);
    if (opts.onlink) args.push('onlink');
    await this.ip(netns, args);
  }

  /** Adds a policy-routing rule at `pref` unless one exists there (`ip rule add pref <pref> <selector...>`). */
  async ensureRule(netns: string, pref: number, selector: string[]): Promise<void> {
    const r = await this.ip(netns, ['-j', 'rule', 'show']);
    const rules = JSON.parse(r.stdout || '[]') as { priority: number }[];
    if (rules.some((x) => x.priority === pref)) return;
    await this.ip(netns, ['rule', 'add', 'pref', String(pref), ...selector]);
  }

  async deleteRoute(netns: string, dst: string): Promise<void> {
    await this.ip(netns, ['route', 'del', dst], true);
  }

  async routes(netns: string): Promise<RouteInfo[]> {
    return parseIpRoutes((await this.ip(netns, ['-j', 'route', 'show'])).stdout);
  }

  async setSysctl(netns: string, key: string, value: string): Promise<void> {
    await this.runner.run('sysctl', ['-qw', `${key}=${value}`], { netns: assertSkyName('netns', netns) });
  }

  /** Per-interface proxy ARP: answer ARP for addresses routed through another interface. */
  async proxyArp(netns: string, ifname: string): Promise<void> {
    await this.setSysctl(netns, `net.ipv4.conf.${assertIfName(ifname)}.proxy_arp`, '1');
  }

  /** rx/tx byte counters of one link (`ip -s -j link`). */
  async counters(netns: string, ifname: string): Promise<{ rxBytes: number; txBytes: number }> {
    const r = await this.ip(netns, ['-s', '-j', 'link', 'show', 'dev', ifname]);
    const [l] = JSON.parse(r.stdout) as { stats64?: { rx: { bytes: number }; tx: { bytes: number } } }[];
    return { rxBytes: l?.stats64?.rx.bytes ?? 0, txBytes: l?.stats64?.tx.bytes ?? 0 };
  }
}
