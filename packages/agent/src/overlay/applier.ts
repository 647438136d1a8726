// Applies an agent's overlay documents to its site's network namespace:
// strongSwan (charon with kernel-libipsec, loaded through swanctl/VICI), the
// site's overlay addresses, routes into the tunnel device and the hub's NAT.
// Idempotent: applying the same documents again changes nothing, and a
// restarted agent re-applies what it persisted without touching tunnels it
// keeps (charon runs on; swanctl only loads what differs).
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CommandRunner,
  ExecRunner,
  Strongswan,
  strongswanDir,
  TUNNEL_RULE,
  viciUri,
} from '@skyway/dataplane';
import type { Logger } from 'pino';
import { docKey, type SiteDocument, type SiteReport, type TunnelReport } from './document.js';
import { renderOverlaySwanctl } from './swanctl.js';

export interface OverlayApplierOptions {
  /** The site's network namespace (charon and every route live there). */
  netns: string;
  /** Where documents are kept across restarts (mode 0600 files: they hold private keys). */
  home: string;
  runner?: CommandRunner;
  log?: Logger;
}

const TUN = 'ipsec0';
const NFT_TABLE = 'skyway_overlay';
const fileOf = (d: { overlay: string; site: string }) =>
  `${d.overlay}__${d.site}`.replace(/[^A-Za-z0-9_.-]/g, '_');

/** Reasons charon logs for a tunnel that does not come up, as the peer or the check states them. */
const FAILURE =
  /(NO_PROPOSAL_CHOSEN|AUTHENTICATION_FAILED|TS_UNACCEPTABLE|INTERNAL_ADDRESS_FAILURE|FAILED_CP_REQUIRED|no acceptable proposal found|received proposals .* unacceptable|constraint check failed|no trusted .* public key found|certificate .* (expired|not valid)|peer not responding|giving up after \d+ retransmits)/i;

export class OverlayApplier {
  private readonly docs = new Map<string, SiteDocument>();
  private readonly runner: CommandRunner;
  private readonly ss: Strongswan;
  private applied = { tunnels: new Set<string>(), addrs: new Set<string>(), routes: new Set<string>() };
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: OverlayApplierOptions) {
    this.runner = opts.runner ?? new ExecRunner();
    this.ss = new Strongswan(this.runner);
  }

  private get dir() {
    return join(this.opts.home, 'overlay');
  }
  private get swanctlDir() {
    return `${strongswanDir(this.opts.netns)}/swanctl`;
  }

  /** Loads persisted documents and applies them (after an agent restart). */
  async restore(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    for (const f of await readdir(this.dir)) {
      if (!f.endsWith('.json')) continue;
      const doc = JSON.parse(await readFile(join(this.dir, f), 'utf8')) as SiteDocument;
      this.docs.set(docKey(doc), doc);
    }
    // What was applied before the restart is what these documents say: nothing to remove.
    this.remember();
    if (this.docs.size > 0) await this.serial(() => this.applyAll());
  }

  /** Applies `doc` unless a newer or equal version is applied already; answers the site's state. */
  apply(doc: SiteDocument): Promise<SiteReport> {
    return this.serial(async () => {
      const key = docKey(doc);
      const have = this.docs.get(key);
      if (!have || have.version < doc.version) {
        await mkdir(this.dir, { recursive: true, mode: 0o700 });
        const file = join(this.dir, `${fileOf(doc)}.json`);
        if (doc.removed) {
          this.docs.delete(key);
          await rm(file, { force: true });
        } else {
          this.docs.set(key, doc);
          await writeFile(file, JSON.stringify(doc), { mode: 0o600 });
          await chmod(file, 0o600);
        }
        await this.applyAll();
      }
      return this.status(doc.overlay, doc.site, doc.removed ? doc.version : undefined);
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => {});
    return next;
  }

  private remember() {
    this.applied = {
      tunnels: new Set(this.all().flatMap((d) => d.config.tunnels.map((t) => t.name))),
      addrs: this.desiredAddrs(),
      routes: new Set(this.desiredRoutes().map((r) => JSON.stringify(r))),
    };
  }

  private all() {
    return [...this.docs.values()].filter((d) => !d.removed);
  }

  private desiredAddrs(): Set<string> {
    const out = new Set<string>();
    for (const d of this.all()) {
      for (const ip of d.config.overlayIps) out.add(ip);
      // The hub hands this address by configuration payload; holding it before the SA is up is harmless.
      for (const t of d.config.tunnels)
        if (t.requestVip) for (const ts of t.localTs) out.add(ts.replace(/\/32$/, ''));
    }
    return out;
  }

  private desiredRoutes() {
    const seen = new Map<string, { dst: string; src?: string }>();
    for (const d of this.all()) for (const r of d.config.routes) if (!seen.has(r.dst)) seen.set(r.dst, r);
    return [...seen.values()];
  }

  private ip(args: string[], allowFail = false) {
    return this.runner.run('ip', args, { netns: this.opts.netns, allowFail });
  }

  private async applyAll(): Promise<void> {
    const { netns } = this.opts;
    const docs = this.all();
    const tunnels = new Set(docs.flatMap((d) => d.config.tunnels.map((t) => t.name)));
    if (docs.length > 0 || this.applied.tunnels.size > 0) {
      await this.ss.start(netns);
      await this.runner.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1'], { netns });
      await this.writeCredentials(docs);
      const conf = join(this.swanctlDir, 'swanctl.conf');
      await writeFile(
        conf,
        renderOverlaySwanctl(docs.map((doc) => ({ doc, files: { cert: `${fileOf(doc)}.pem` } }))),
        { mode: 0o600 },
      );
      await this.runner.run(
        'swanctl',
        ['--load-all', '--noprompt', '--file', conf, '--uri', viciUri(netns)],
        {
          env: { SWANCTL_DIR: this.swanctlDir },
        },
      );
      for (const gone of this.applied.tunnels) if (!tunnels.has(gone)) await this.ss.terminate(netns, gone);
    }
    // Addresses the site speaks from in the overlay.
    await this.ip(['link', 'set', 'lo', 'up']);
    const addrs = this.desiredAddrs();
    for (const a of addrs) await this.ip(['addr', 'replace', `${a}/32`, 'dev', 'lo']);
    for (const a of this.applied.addrs)
      if (!addrs.has(a)) await this.ip(['addr', 'del', `${a}/32`, 'dev', 'lo'], true);
    // Routes into the tunnel device; libipsec's table 220 must not override the namespace's own routes.
    const routes = this.desiredRoutes();
    if (routes.length > 0) {
      const rules = await this.ip(['rule', 'show', 'pref', String(TUNNEL_RULE.pref)]);
      if (!rules.stdout.includes('suppress_prefixlength')) {
        await this.ip(['rule', 'add', 'pref', String(TUNNEL_RULE.pref), ...TUNNEL_RULE.selector]);
      }
    }
    const wanted = new Set(routes.map((r) => JSON.stringify(r)));
    for (const r of routes) {
      await this.ip(['route', 'replace', r.dst, 'dev', TUN, ...(r.src ? ['src', r.src] : [])]);
    }
    for (const old of this.applied.routes) {
      if (wanted.has(old)) continue;
      const r = JSON.parse(old) as { dst: string };
      if (!routes.some((x) => x.dst === r.dst)) await this.ip(['route', 'del', r.dst, 'dev', TUN], true);
    }
    await this.applyNat(docs);
    this.applied = { tunnels, addrs, routes: wanted };
  }

  private async writeCredentials(docs: SiteDocument[]) {
    const base = this.swanctlDir;
    for (const sub of ['x509', 'x509ca', 'pkcs8']) {
      await rm(join(base, sub), { recursive: true, force: true });
      await mkdir(join(base, sub), { recursive: true, mode: 0o700 });
    }
    const cas = new Set<string>();
    for (const d of docs) {
      if (!d.certificate) continue;
      await writeFile(join(base, 'x509', `${fileOf(d)}.pem`), d.certificate.certPem);
      await writeFile(join(base, 'pkcs8', `${fileOf(d)}.pem`), d.certificate.keyPem, { mode: 0o600 });
      for (const ca of d.caPems) cas.add(ca);
    }
    let i = 0;
    for (const ca of cas) await writeFile(join(base, 'x509ca', `ca-${i++}.pem`), ca);
  }

  /** The hub's DNAT (proxy ports to a device's 6443) and SNAT (devices using the hub for the internet), as one nftables table. */
  private async applyNat(docs: SiteDocument[]) {
    const dnat = docs.flatMap((d) => d.config.dnat.map((n) => ({ ...n, src: d.config.overlayIps[0] })));
    const snat = docs.flatMap((d) => d.config.snat);
    const lines = [`table ip ${NFT_TABLE}`, `delete table ip ${NFT_TABLE}`];
    if (dnat.length > 0 || snat.length > 0) {
      lines.push(
        `table ip ${NFT_TABLE} {`,
        '  chain prerouting {',
        '    type nat hook prerouting priority dstnat; policy accept;',
        ...dnat.map((n) => `    tcp dport ${n.port} dnat to ${n.to}:${n.toPort}`),
        '  }',
        '  chain postrouting {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        // Answers of a proxied device come back through the tunnel: the hub's OIP is their destination.
        ...dnat
          .filter((n) => n.src)
          .map((n) => `    ip daddr ${n.to} tcp dport ${n.toPort} ct status dnat snat to ${n.src}`),
        ...snat.map((s) => `    ip saddr ${s} oifname != "${TUN}" masquerade`),
        '  }',
        '}',
      );
    }
    await this.runner.run('nft', ['-f', '-'], { netns: this.opts.netns, input: `${lines.join('\n')}\n` });
  }

  /** The state of each tunnel of a site as charon sees it (with the reason a failed one gives). */
  async status(overlay: string, site: string, removedVersion?: number): Promise<SiteReport> {
    const doc = this.docs.get(docKey({ overlay, site }));
    if (!doc) return { overlay, site, appliedVersion: removedVersion ?? 0, tunnels: {} };
    const sas = await this.ss.listSas(this.opts.netns).catch(() => []);
    let log = '';
    const tunnels: Record<string, TunnelReport> = {};
    for (const t of doc.config.tunnels) {
      const mine = sas.filter((s) => s.name === t.name);
      const up = mine.find(
        (s) => s.state === 'ESTABLISHED' && s.children.some((c) => c.state === 'INSTALLED'),
      );
      if (up) {
        const c = up.children.find((x) => x.state === 'INSTALLED')!;
        tunnels[t.name] = {
          connection: t.connection,
          state: 'established',
          bytesIn: c.bytesIn,
          bytesOut: c.bytesOut,
          packetsIn: c.packetsIn,
          packetsOut: c.packetsOut,
        };
        continue;
      }
      if (!log) log = await readFile(`${strongswanDir(this.opts.netns)}/charon.log`, 'utf8').catch(() => ' ');
      const reason = log
        .split('\n')
        .slice(-400)
        .reverse()
        .find((l) => l.includes(`<${t.name}|`) && FAILURE.test(l));
      tunnels[t.name] = reason
        ? { connection: t.connection, state: 'failed', message: reason.replace(/^.*?<[^>]*>\s*/, '') }
        : { connection: t.connection, state: 'connecting' };
    }
    return { overlay, site, appliedVersion: doc.version, tunnels };
  }

  /** Stops charon and removes what the overlay added to the namespace. */
  async stop(removeState = false): Promise<void> {
    await this.ss.stop(this.opts.netns).catch(() => {});
    if (removeState) await rm(this.dir, { recursive: true, force: true });
  }
}
