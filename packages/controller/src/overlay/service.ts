// The overlay service: SCC's objects as desired state. Every change and the
// re-planning it causes (OIP and port allocation, certificates, each site's
// versioned document) commit in one transaction, so a crash never leaves an
// acknowledged change without its documents. Delivery to agents reads the
// documents afterwards (delivery.ts).
import { createHash } from 'node:crypto';
import {
  allocateFirstFit,
  allocateProxyPort,
  alreadyExists,
  certCn,
  checkNoOverlap,
  deviceMode,
  failedPrecondition,
  type IpRange,
  notFound,
  type OverlayPlan,
  type PlanDevice,
  type PlanHubDevice,
  type PlannedConnection,
  parseIpRange,
  planOverlay,
  primaryHub,
  SerialQueue,
  type SiteConfig,
  siteKey,
} from '@skyway/core';
import type { SecretBox } from '../secrets.js';
import type { Store } from '../store/store.js';
import {
  type CertMaterial,
  createOverlayCa,
  dueForRenewal,
  issueFromOverlayCa,
  type RootSigner,
} from './certs.js';
import { kinds, type SccKind } from './kinds.js';
import { type ObjectRow, OverlayStore } from './store.js';
import { checkMetadata, checkSpec, type SccBody } from './validate.js';
import { type DeviceStatus, objectView, type SccObject } from './views.js';

export interface OverlayServiceOptions {
  store: Store;
  secrets: SecretBox;
  root: RootSigner;
  /** Whether an agent of this name is connected (a device is "registered" once its agent is). */
  isRegistered?: (agent: string) => boolean;
  /** Hub and device certificate lifetime (default 30 days; renewed after two thirds). */
  siteCertTtlMs?: number;
  /** Overlay CA lifetime (default 5 years). */
  overlayCaTtlMs?: number;
  now?: () => number;
  /** Called after a commit that changed site documents. */
  onDocuments?: (overlay: string) => void;
}

/** What an agent receives for one site of one overlay. */
export interface SiteDocument {
  overlay: string;
  site: string;
  version: number;
  removed?: boolean;
  config: SiteConfig;
  /** The site's certificate and key, and the overlay CAs it trusts (two during a CA rotation). */
  certificate?: { certPem: string; keyPem: string; notAfter: string };
  caPems: string[];
}

export interface ConnectionObject {
  metadata: { name: string; description: string; userData1: string; userData2: string };
  information: {
    end1: { name: string; type: string; ip: string };
    end2: { name: string; type: string; ip: string };
    state: 'pending' | 'established' | 'failed';
    message: string;
  };
}

interface CaStatus {
  current: Omit<CertMaterial, 'keyPem'>;
  previous?: Omit<CertMaterial, 'keyPem'>;
}

const DAY = 86_400_000;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

export class OverlayService {
  readonly objects: OverlayStore;
  private readonly queue = new SerialQueue();
  private readonly now: () => number;
  /** Called after a commit that changed site documents (delivery listens here). */
  onDocuments?: (overlay: string) => void;

  constructor(private readonly opts: OverlayServiceOptions) {
    this.objects = OverlayStore.of(opts.store);
    this.now = opts.now ?? Date.now;
  }

  /** One change at a time: allocation reads then writes. */
  private change<T>(overlay: string, fn: (s: OverlayStore) => Promise<T>): Promise<T> {
    return this.queue.run('overlay', async () => {
      const changed = new Set<string>();
      const out = await this.objects.transaction(async (s) => {
        const r = await fn(s);
        for (const o of overlay === '*' ? (await s.list('overlay')).map((x) => x.name) : [overlay]) {
          if (await s.get('overlay', '', o)) {
            if (await this.replan(s, o)) changed.add(o);
          }
        }
        return r;
      });
      for (const o of changed) (this.onDocuments ?? this.opts.onDocuments)?.(o);
      return out;
    });
  }

  // ---- reading ----

  async overlayRow(name: string): Promise<ObjectRow> {
    const o = await this.objects.get('overlay', '', name);
    if (!o) throw notFound(`no overlay named "${name}"`);
    return o;
  }

  async list(kind: SccKind, overlay: string): Promise<SccObject[]> {
    if (kind !== 'overlay' && kind !== 'provider-iprange') await this.overlayRow(overlay);
    return (await this.objects.list(kind, this.scope(kind, overlay))).map(objectView);
  }

  async get(kind: SccKind, overlay: string, name: string): Promise<SccObject> {
    if (kind !== 'overlay' && kind !== 'provider-iprange') await this.overlayRow(overlay);
    const row = await this.objects.get(kind, this.scope(kind, overlay), name);
    if (!row)
      throw notFound(
        `no ${kinds[kind].label} named "${name}"${this.scope(kind, overlay) ? ` in overlay "${overlay}"` : ''}`,
      );
    return objectView(row);
  }

  private scope(kind: SccKind, overlay: string) {
    return kind === 'overlay' || kind === 'provider-iprange' ? '' : overlay;
  }

  // ---- writing ----

  async create(kind: SccKind, overlay: string, body: SccBody, namespace = 'default'): Promise<SccObject> {
    const metadata = checkMetadata(body);
    const spec = checkSpec(kind, body.spec);
    const scope = this.scope(kind, overlay);
    let answer: SccObject | undefined;
    await this.change(
      kind === 'provider-iprange' ? '*' : kind === 'overlay' ? metadata.name : overlay,
      async (s) => {
        const ns =
          kind === 'overlay' || kind === 'provider-iprange'
            ? namespace
            : (await this.parent(s, overlay)).namespace;
        if (await s.get(kind, scope, metadata.name)) {
          throw alreadyExists(
            `${kinds[kind].label} "${metadata.name}" exists already${scope ? ` in overlay "${overlay}"` : ''}`,
          );
        }
        await this.checkCreate(s, kind, overlay, metadata.name, spec);
        const { stored, secret } = this.sealSecrets(kind, spec);
        const row = await s.insert({
          kind,
          overlay: scope,
          name: metadata.name,
          namespace: ns,
          metadata,
          spec: stored,
          status: {},
          ...secret,
        });
        answer = objectView(row);
        if (kind === 'overlay') await this.createCa(s, metadata.name, ns);
        if (kind === 'certificate')
          answer = {
            ...answer,
            data: await this.issueCertificateObject(s, overlay, ns, metadata.name, spec),
          };
      },
    );
    if (kind === 'device') return this.get(kind, overlay, metadata.name);
    return answer!;
  }

  async update(kind: SccKind, overlay: string, name: string, body: SccBody): Promise<SccObject> {
    const metadata = checkMetadata(body, name);
    const spec = checkSpec(kind, body.spec);
    const scope = this.scope(kind, overlay);
    await this.change(kind === 'overlay' ? name : overlay, async (s) => {
      if (kind !== 'overlay') await this.parent(s, overlay);
      const row = await s.get(kind, scope, name);
      if (!row)
        throw notFound(`no ${kinds[kind].label} named "${name}"${scope ? ` in overlay "${overlay}"` : ''}`);
      await this.checkCreate(s, kind, overlay, name, spec, row);
      const { stored, secret } = this.sealSecrets(kind, spec, row.secret);
      await s.update({ ...row, metadata, spec: stored, ...(secret ?? {}) });
    });
    return this.get(kind, overlay, name);
  }

  async remove(kind: SccKind, overlay: string, name: string): Promise<void> {
    const scope = this.scope(kind, overlay);
    await this.change(kind === 'provider-iprange' ? '*' : overlay || name, async (s) => {
      if (kind !== 'overlay' && kind !== 'provider-iprange') await this.parent(s, overlay);
      const row = await s.get(kind, scope, name);
      if (!row)
        throw notFound(`no ${kinds[kind].label} named "${name}"${scope ? ` in overlay "${overlay}"` : ''}`);
      await this.checkDelete(s, kind, overlay, name);
      await s.delete(kind, scope, name);
      if (kind === 'overlay') await s.deleteOverlayContents(name);
      if (kind === 'hub' || kind === 'device') {
        await s.delete('site-cert', overlay, `${kind === 'hub' ? 'Hub' : 'Device'}.${name}`);
      }
    });
  }

  async connect(
    overlay: string,
    hub: string,
    body: { device: string; isDelegateHub?: boolean },
    metadata?: Partial<ObjectRow['metadata']>,
  ) {
    await this.change(overlay, async (s) => {
      const o = await this.parent(s, overlay);
      if (!(await s.get('hub', overlay, hub)))
        throw notFound(`no hub named "${hub}" in overlay "${overlay}"`);
      if (!(await s.get('device', overlay, body.device))) {
        throw notFound(`no device named "${body.device}" in overlay "${overlay}"`);
      }
      const key = `${hub}/${body.device}`;
      if (await s.get('hub-device', overlay, key)) {
        throw alreadyExists(`hub "${hub}" and device "${body.device}" are connected already`);
      }
      if (this.opts.isRegistered && !this.opts.isRegistered(body.device)) {
        throw failedPrecondition(
          `device "${body.device}" is not registered yet: no agent named "${body.device}" is connected`,
          'NOT_REGISTERED',
        );
      }
      await s.insert({
        kind: 'hub-device',
        overlay,
        name: key,
        namespace: o.namespace,
        metadata: {
          name: metadata?.name ?? key.replace('/', '-'),
          description: metadata?.description ?? '',
          userData1: metadata?.userData1 ?? '',
          userData2: metadata?.userData2 ?? '',
        },
        spec: { hub, device: body.device, isDelegateHub: body.isDelegateHub === true },
        status: {},
      });
    });
    return {
      metadata: { name: `${hub}-${body.device}`, description: '', userData1: '', userData2: '' },
      spec: { device: body.device, isDelegateHub: body.isDelegateHub === true },
    };
  }

  async disconnect(overlay: string, hub: string, device: string): Promise<void> {
    await this.change(overlay, async (s) => {
      await this.parent(s, overlay);
      if (!(await s.delete('hub-device', overlay, `${hub}/${device}`))) {
        throw notFound(`hub "${hub}" and device "${device}" are not connected in overlay "${overlay}"`);
      }
    });
  }

  /** Connection objects of a hub or a device, with the state its agents report. */
  async connections(
    overlay: string,
    end: { type: 'Hub' | 'Device'; name: string },
  ): Promise<ConnectionObject[]> {
    const o = await this.overlayRow(overlay);
    const kind = end.type === 'Hub' ? 'hub' : 'device';
    if (!(await this.objects.get(kind, overlay, end.name))) {
      throw notFound(`no ${kind} named "${end.name}" in overlay "${overlay}"`);
    }
    const planned = (o.status.connections as PlannedConnection[] | undefined) ?? [];
    const docs = new Map((await this.objects.documents(overlay)).map((d) => [d.site, d]));
    const me = `${end.type}.${end.name}`;
    return planned
      .filter((c) => c.end1.name === me || c.end2.name === me)
      .map((c) => ({
        metadata: { name: c.name, description: '', userData1: '', userData2: '' },
        information: { end1: c.end1, end2: c.end2, ...connectionState(c, docs) },
      }));
  }

  // ---- checks ----

  private async parent(s: OverlayStore, overlay: string): Promise<ObjectRow> {
    const o = await s.get('overlay', '', overlay);
    if (!o) throw notFound(`no overlay named "${overlay}"`);
    return o;
  }

  private async checkCreate(
    s: OverlayStore,
    kind: SccKind,
    overlay: string,
    name: string,
    spec: Record<string, unknown>,
    existing?: ObjectRow,
  ): Promise<void> {
    if (kind === 'iprange' || kind === 'provider-iprange') {
      const range = parseIpRange(name, spec as never);
      const others: Array<IpRange & { owner: string }> = [];
      for (const p of await s.list('provider-iprange')) {
        if (kind === 'provider-iprange' && p.name === name) continue;
        others.push({ ...parseIpRange(p.name, p.spec as never), owner: 'provider ip range' });
      }
      const overlayRanges = kind === 'iprange' ? await s.list('iprange', overlay) : await s.list('iprange');
      for (const r of overlayRanges) {
        others.push({
          ...parseIpRange(r.name, r.spec as never),
          owner: `ip range of overlay "${r.overlay}"`,
        });
      }
      checkNoOverlap(range, others);
    }
    if (kind === 'device' && spec.proxyHub) {
      if (!(await s.get('hub', overlay, spec.proxyHub as string))) {
        throw notFound(`spec.proxyHub: no hub named "${spec.proxyHub}" in overlay "${overlay}"`);
      }
      if (!spec.proxyHubPort) {
        const used = new Set(
          (await s.list('device', overlay))
            .filter((d) => d.spec.proxyHub === spec.proxyHub && d.name !== name)
            .map((d) => d.spec.proxyHubPort as number),
        );
        const port =
          (existing?.spec.proxyHub === spec.proxyHub && (existing?.spec.proxyHubPort as number)) ||
          allocateProxyPort(used);
        if (!port)
          throw failedPrecondition(`hub "${spec.proxyHub}" has no free proxy port left`, 'POOL_EXHAUSTED');
        spec.proxyHubPort = port;
      }
    }
    if (
      (kind === 'hub' || kind === 'device') &&
      (await s.get(kind === 'hub' ? 'device' : 'hub', overlay, name))
    ) {
      // A hub and a device share the agent of their name.
      throw alreadyExists(
        `a ${kind === 'hub' ? 'device' : 'hub'} named "${name}" exists already in overlay "${overlay}"`,
      );
    }
  }

  private async checkDelete(s: OverlayStore, kind: SccKind, overlay: string, name: string): Promise<void> {
    const inUse = (what: string) =>
      failedPrecondition(`${kinds[kind].label} "${name}" is in use: ${what}; delete those first`, 'IN_USE');
    if (kind === 'overlay') {
      const n = await s.count(name, ['proposal', 'hub', 'device', 'iprange', 'certificate']);
      const held = Object.entries(n).filter(([, c]) => c > 0);
      if (held.length > 0)
        throw inUse(`it still has ${held.map(([k, c]) => `${c} ${k}${c > 1 ? 's' : ''}`).join(', ')}`);
    }
    if (kind === 'hub' || kind === 'device') {
      const field = kind === 'hub' ? 'hub' : 'device';
      const conns = (await s.list('hub-device', overlay)).filter((c) => c.spec[field] === name);
      if (conns.length > 0)
        throw inUse(
          `connected to ${conns.map((c) => (kind === 'hub' ? c.spec.device : c.spec.hub)).join(', ')}`,
        );
      if (kind === 'hub') {
        const proxied = (await s.list('device', overlay)).filter((d) => d.spec.proxyHub === name);
        if (proxied.length > 0) throw inUse(`proxy hub of ${proxied.map((d) => d.name).join(', ')}`);
      }
    }
    if (kind === 'iprange') {
      const range = parseIpRange(name, (await s.get('iprange', overlay, name))!.spec as never);
      const taken = (await s.listOverlay(overlay))
        .map((r) => r.status.oip as string | undefined)
        .filter((ip): ip is string => !!ip && inRange(range, ip));
      if (taken.length > 0)
        throw inUse(
          `${taken.length} overlay IP${taken.length > 1 ? 's' : ''} of it are allocated (${taken.slice(0, 3).join(', ')})`,
        );
    }
  }

  private sealSecrets(kind: SccKind, spec: Record<string, unknown>, old?: string) {
    const names: readonly string[] = kinds[kind].secrets;
    const stored = { ...spec };
    const secrets: Record<string, unknown> = old ? JSON.parse(this.opts.secrets.open(old)) : {};
    let any = false;
    for (const n of names) {
      if (stored[n] !== undefined) {
        if (stored[n] !== '') secrets[n] = stored[n];
        any = true;
        delete stored[n];
      }
    }
    return {
      stored,
      secret: any || old ? { secret: this.opts.secrets.seal(JSON.stringify(secrets)) } : undefined,
    };
  }

  // ---- certificates ----

  private async createCa(s: OverlayStore, overlay: string, namespace: string) {
    const ca = await createOverlayCa(
      this.opts.root,
      overlay,
      this.opts.overlayCaTtlMs ?? 5 * 365 * DAY,
      this.now(),
    );
    const { keyPem, ...pub } = ca;
    await s.insert({
      kind: 'overlay-ca',
      overlay,
      name: 'ca',
      namespace,
      metadata: { name: `${overlay}-cert`, description: '', userData1: 'internal', userData2: '' },
      spec: {},
      status: { current: pub } satisfies CaStatus as never,
      secret: this.opts.secrets.seal(JSON.stringify({ current: keyPem })),
    });
  }

  private async caOf(s: OverlayStore, overlay: string) {
    const row = (await s.get('overlay-ca', overlay, 'ca'))!;
    const status = row.status as unknown as CaStatus;
    const keys = JSON.parse(this.opts.secrets.open(row.secret!)) as { current: string };
    return { row, status, current: { certPem: status.current.certPem, keyPem: keys.current } };
  }

  /** A new overlay CA; the old one stays trusted until every site holds a certificate of the new one. */
  async rotateCa(overlay: string): Promise<{ serial: string; notAfter: string }> {
    let out = { serial: '', notAfter: '' };
    await this.change(overlay, async (s) => {
      await this.parent(s, overlay);
      const { row, status } = await this.caOf(s, overlay);
      const ca = await createOverlayCa(
        this.opts.root,
        overlay,
        this.opts.overlayCaTtlMs ?? 5 * 365 * DAY,
        this.now(),
      );
      const { keyPem, ...pub } = ca;
      await s.update({
        ...row,
        status: { current: pub, previous: status.current } as never,
        secret: this.opts.secrets.seal(JSON.stringify({ current: keyPem })),
      });
      // Re-issue every site's certificate from the new CA.
      for (const c of await s.list('site-cert', overlay)) await s.delete('site-cert', overlay, c.name);
      out = { serial: pub.serial, notAfter: pub.notAfter };
    });
    return out;
  }

  /** Renews certificates due for it (and ends a finished CA rotation); returns the overlays changed. */
  async renewDue(): Promise<string[]> {
    const due: string[] = [];
    for (const o of await this.objects.list('overlay')) {
      const certs = await this.objects.list('site-cert', o.name);
      const ca = await this.objects.get('overlay-ca', o.name, 'ca');
      const rotating = !!(ca?.status as unknown as CaStatus | undefined)?.previous;
      if (rotating || certs.some((c) => dueForRenewal(c.status as never, this.now()))) due.push(o.name);
    }
    for (const o of due) {
      await this.change(o, async (s) => {
        for (const c of await s.list('site-cert', o)) {
          if (dueForRenewal(c.status as never, this.now())) await s.delete('site-cert', o, c.name);
        }
      });
    }
    return due;
  }

  private async issueCertificateObject(
    s: OverlayStore,
    overlay: string,
    namespace: string,
    name: string,
    spec: Record<string, unknown>,
  ) {
    const { current, status } = await this.caOf(s, overlay);
    const type = spec.clusterType as string;
    const cn = type === 'Overlay' ? `${name}-cert` : certCn(type as 'Hub' | 'Device', name).slice(3);
    const c = await issueFromOverlayCa(current, cn, {
      ttlMs: this.opts.siteCertTtlMs ?? 30 * DAY,
      isCA: spec.isCA === true,
      now: this.now(),
    });
    void namespace;
    // Answered once: the key is not kept.
    return { ca: `${status.current.certPem}${this.opts.root.certPem}`, cert: c.certPem, key: c.keyPem };
  }

  // ---- planning ----

  /** Allocates, issues and plans an overlay; writes the documents that changed. Returns whether any did. */
  private async replan(s: OverlayStore, overlay: string): Promise<boolean> {
    const rows = await s.listOverlay(overlay);
    const of = (k: string) => rows.filter((r) => r.kind === k);
    const ranges = of('iprange').map((r) => parseIpRange(r.name, r.spec as never));
    const hubs = of('hub');
    const devices = of('device');
    const links = of('hub-device');
    const used = new Set<string>();
    for (const r of [...hubs, ...devices, ...links]) if (r.status.oip) used.add(r.status.oip as string);
    const touched = new Set<ObjectRow>();
    const take = (row: ObjectRow) => {
      const ip = allocateFirstFit(ranges, used);
      if (ip) {
        used.add(ip);
        row.status = { ...row.status, oip: ip };
        touched.add(row);
      }
    };
    for (const h of hubs) if (!h.status.oip) take(h);
    for (const d of devices) {
      const mode = deviceMode(d.spec as never);
      if (mode === 1 && !d.status.oip) take(d);
      if (mode === 2 && d.status.oip) {
        used.delete(d.status.oip as string);
        const { oip: _, ...rest } = d.status;
        d.status = rest;
        touched.add(d);
      }
    }
    for (const l of links) if (!l.status.oip) take(l);

    const planInput = {
      overlay,
      proposals: of('proposal').map((p) => p.spec as never),
      ranges,
      hubs: hubs.map((h) => ({
        name: h.name,
        publicIps: h.spec.publicIps as string[],
        ...(h.status.oip ? { oip: h.status.oip as string } : {}),
      })),
      devices: devices.map((d) => ({
        name: d.name,
        publicIps: d.spec.publicIps as string[],
        forceHubConnectivity: d.spec.forceHubConnectivity === true,
        useHub4Internet: d.spec.useHub4Internet === true,
        ...(d.spec.proxyHub
          ? { proxyHub: d.spec.proxyHub as string, proxyHubPort: d.spec.proxyHubPort as number }
          : {}),
        ...(d.status.oip ? { oip: d.status.oip as string } : {}),
      })) satisfies PlanDevice[],
      hubDevices: links.map((l) => ({
        hub: l.spec.hub as string,
        device: l.spec.device as string,
        isDelegateHub: l.spec.isDelegateHub === true,
        ...(l.status.oip ? { oip: l.status.oip as string } : {}),
      })) satisfies PlanHubDevice[],
    };
    const plan: OverlayPlan = planOverlay(planInput);

    // Device status, SCC's shape.
    for (const d of devices) {
      const pd = planInput.devices.find((x) => x.name === d.name)!;
      const mine = planInput.hubDevices.filter((c) => c.device === d.name && c.oip);
      const primary = primaryHub(pd, planInput.hubDevices);
      const mode = deviceMode(pd);
      const view: DeviceStatus = {
        Mode: mode,
        Ip: mode === 1 ? (pd.publicIps[0] ?? '') : (primary?.oip ?? ''),
        DataIps: Object.fromEntries(mine.map((c) => [`Hub.${c.hub}`, c.oip!])),
        Data: {
          RegStatus: !this.opts.isRegistered || this.opts.isRegistered(d.name) ? 'success' : 'pending',
        },
        DelegatedHub: mine.find((c) => c.isDelegateHub)?.hub ?? '',
      };
      if (JSON.stringify(view) !== JSON.stringify(d.status.view)) {
        d.status = { ...d.status, view };
        touched.add(d);
      }
    }
    for (const r of touched) await s.update(r);
    const overlayRow = (await s.get('overlay', '', overlay))!;
    if (JSON.stringify(overlayRow.status.connections) !== JSON.stringify(plan.connections)) {
      await s.update({ ...overlayRow, status: { ...overlayRow.status, connections: plan.connections } });
    }
    return this.writeDocuments(s, overlay, plan, overlayRow.namespace);
  }

  private async writeDocuments(
    s: OverlayStore,
    overlay: string,
    plan: OverlayPlan,
    namespace: string,
  ): Promise<boolean> {
    let ca = await this.caOf(s, overlay);
    const existing = new Map((await s.documents(overlay)).map((d) => [d.site, d]));
    const certs = new Map((await s.list('site-cert', overlay)).map((c) => [c.name, c]));
    // A CA rotation ends once every site holds a certificate of the new CA and its agent applied it.
    if (
      ca.status.previous &&
      plan.sites.every(
        (site) => certs.get(siteKey(site.site))?.status.caSerial === ca.status.current.serial,
      ) &&
      [...existing.values()].every((d) => d.appliedVersion >= d.version)
    ) {
      await s.update({ ...ca.row, status: { current: ca.status.current } as never });
      ca = await this.caOf(s, overlay);
    }
    const caPems = [ca.status.current.certPem, ...(ca.status.previous ? [ca.status.previous.certPem] : [])];
    let changed = false;
    for (const site of plan.sites) {
      const key = siteKey(site.site);
      let cert = certs.get(key);
      if (!cert) {
        const m = await issueFromOverlayCa(ca.current, certCn(site.site.type, site.site.name).slice(3), {
          ttlMs: this.opts.siteCertTtlMs ?? 30 * DAY,
          now: this.now(),
        });
        const { keyPem, ...pub } = m;
        cert = await s.insert({
          kind: 'site-cert',
          overlay,
          name: key,
          namespace,
          metadata: {
            name: certCn(site.site.type, site.site.name).slice(3),
            description: '',
            userData1: 'internal',
            userData2: '',
          },
          spec: {},
          status: { ...pub, caSerial: ca.status.current.serial },
          secret: this.opts.secrets.seal(keyPem),
        });
      }
      const certificate = {
        certPem: cert.status.certPem as string,
        keyPem: this.opts.secrets.open(cert.secret!),
        notAfter: cert.status.notAfter as string,
      };
      const body = { overlay, site: key, config: site, certificate, caPems };
      const hash = sha(JSON.stringify(body));
      const old = existing.get(key);
      existing.delete(key);
      if (old?.hash === hash) continue;
      const version = (old?.version ?? 0) + 1;
      const doc: SiteDocument = { ...body, version };
      await s.putDocument({
        overlay,
        site: key,
        agent: site.site.name,
        version,
        hash,
        document: this.opts.secrets.seal(JSON.stringify(doc)),
      });
      changed = true;
    }
    // Sites gone from the plan get an empty document, so their agents remove what they had.
    for (const old of existing.values()) {
      if (old.hash === 'removed') continue;
      const [type, ...rest] = old.site.split('.');
      const config: SiteConfig = {
        overlay,
        site: { type: type as 'Hub', name: rest.join('.') },
        overlayIps: [],
        tunnels: [],
        routes: [],
        dnat: [],
        snat: [],
        underlay: [],
      };
      const doc: SiteDocument = {
        overlay,
        site: old.site,
        version: old.version + 1,
        removed: true,
        config,
        caPems: [],
      };
      await s.putDocument({
        overlay,
        site: old.site,
        agent: old.agent,
        version: doc.version,
        hash: 'removed',
        document: this.opts.secrets.seal(JSON.stringify(doc)),
      });
      changed = true;
    }
    return changed;
  }

  /** The agents that have a site document to hold. */
  async agentsWithDocuments(): Promise<string[]> {
    return [...new Set((await this.objects.documents()).map((d) => d.agent))];
  }

  /** The latest document of every site an agent serves (every overlay). */
  async documentsFor(agent: string): Promise<Array<{ doc: SiteDocument; appliedVersion: number }>> {
    return (await this.objects.documents())
      .filter((d) => d.agent === agent)
      .map((d) => ({
        doc: JSON.parse(this.opts.secrets.open(d.document)) as SiteDocument,
        appliedVersion: d.appliedVersion,
      }));
  }

  /** An agent's report for one site: which version it applied and the state of each tunnel. */
  async report(overlay: string, site: string, appliedVersion: number, tunnels: Record<string, TunnelReport>) {
    await this.objects.recordReport(overlay, site, appliedVersion, {
      tunnels,
      at: new Date(this.now()).toISOString(),
    });
    const doc = (await this.objects.documents(overlay)).find((d) => d.site === site);
    if (doc?.hash === 'removed' && appliedVersion >= doc.version)
      await this.objects.deleteDocument(overlay, site);
  }
}

export interface TunnelReport {
  /** The SCC connection the tunnel belongs to. */
  connection?: string;
  state: 'established' | 'connecting' | 'failed';
  message?: string;
  bytesIn?: number;
  bytesOut?: number;
}

function inRange(r: IpRange, ip: string): boolean {
  const n = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  return n >= r.first && n <= r.last;
}

/** A connection's state as its two ends' agents report it. */
function connectionState(
  c: PlannedConnection,
  docs: Map<string, { report: unknown; appliedVersion: number; version: number }>,
): { state: 'pending' | 'established' | 'failed'; message: string } {
  if (c.blocked) return { state: 'pending', message: c.blocked };
  const seen: TunnelReport[] = [];
  for (const end of [c.end1, c.end2]) {
    const r = (docs.get(end.name)?.report as { tunnels?: Record<string, TunnelReport> } | undefined)?.tunnels;
    const t = r && Object.values(r).find((x) => x.connection === c.name);
    if (t) seen.push(t);
  }
  const failed = seen.find((t) => t.state === 'failed');
  if (failed) return { state: 'failed', message: failed.message ?? 'the tunnel failed' };
  if (seen.length > 0 && seen.every((t) => t.state === 'established'))
    return { state: 'established', message: '' };
  return {
    state: 'pending',
    message: seen.length === 0 ? 'no agent has reported this connection yet' : 'negotiating',
  };
}
