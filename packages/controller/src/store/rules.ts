// The rules aggregate: each resource's desired permit list and the tags it
// subscribes to (re-resolved when one of them changes).
import { chunk, type DbRef, keyOf, now } from './sql.js';

export interface RuleRow {
  name: string;
  direction: 'INBOUND' | 'OUTBOUND';
  srcPort: number;
  dstPort: number;
  protocol: number;
  tags: string[];
  targets: string[];
}

export interface ResourceKey {
  namespace: string;
  cloud: string;
  resource: string;
}

export interface RuleRepo {
  get(key: ResourceKey): Promise<RuleRow[]>;
  /** Inserts or replaces rules by name, then records the resource's subscriptions (undefined: unchanged). */
  put(key: ResourceKey, rules: RuleRow[], subscribedTags: string[] | undefined): Promise<void>;
  delete(key: ResourceKey, names: string[], subscribedTags: string[]): Promise<void>;
  /** Every resource whose rules reference any of `tags`. */
  subscribersOf(tags: string[]): Promise<ResourceKey[]>;
}

export class SqlRules implements RuleRepo {
  constructor(private readonly q: DbRef) {}

  async get(key: ResourceKey): Promise<RuleRow[]> {
    const rows = await this.q()
      .selectFrom('rules')
      .selectAll()
      .where('namespace', '=', key.namespace)
      .where('cloud', '=', key.cloud)
      .where('resource', '=', key.resource)
      .orderBy('name')
      .execute();
    return rows.map((r) => ({
      name: r.name,
      direction: r.direction as RuleRow['direction'],
      srcPort: r.src_port,
      dstPort: r.dst_port,
      protocol: r.protocol,
      tags: JSON.parse(r.tags),
      targets: JSON.parse(r.targets),
    }));
  }

  async put(key: ResourceKey, rules: RuleRow[], subscribedTags: string[] | undefined): Promise<void> {
    const t = now();
    for (const part of chunk(rules, 200)) {
      if (part.length === 0) continue;
      await this.q()
        .insertInto('rules')
        .values(
          part.map((r) => ({
            namespace: key.namespace,
            cloud: key.cloud,
            resource: key.resource,
            name: r.name,
            direction: r.direction,
            src_port: r.srcPort,
            dst_port: r.dstPort,
            protocol: r.protocol,
            tags: JSON.stringify(r.tags),
            targets: JSON.stringify(r.targets),
            updated_at: t,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['namespace', 'cloud', 'resource', 'name']).doUpdateSet((eb) => ({
            direction: eb.ref('excluded.direction'),
            src_port: eb.ref('excluded.src_port'),
            dst_port: eb.ref('excluded.dst_port'),
            protocol: eb.ref('excluded.protocol'),
            tags: eb.ref('excluded.tags'),
            targets: eb.ref('excluded.targets'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    }
    if (subscribedTags) await this.setSubscriptions(key, subscribedTags);
  }

  async delete(key: ResourceKey, names: string[], subscribedTags: string[]): Promise<void> {
    if (names.length > 0) {
      await this.q()
        .deleteFrom('rules')
        .where('namespace', '=', key.namespace)
        .where('cloud', '=', key.cloud)
        .where('resource', '=', key.resource)
        .where('name', 'in', names)
        .execute();
    }
    await this.setSubscriptions(key, subscribedTags);
  }

  private async setSubscriptions(key: ResourceKey, tags: string[]): Promise<void> {
    await this.q()
      .deleteFrom('subscriptions')
      .where('namespace', '=', key.namespace)
      .where('cloud', '=', key.cloud)
      .where('resource', '=', key.resource)
      .execute();
    const unique = [...new Set(tags)];
    for (const part of chunk(unique, 500)) {
      await this.q()
        .insertInto('subscriptions')
        .values(part.map((tag) => ({ tag, ...key })))
        .execute();
    }
  }

  async subscribersOf(tags: string[]): Promise<ResourceKey[]> {
    if (tags.length === 0) return [];
    const seen = new Map<string, ResourceKey>();
    for (const part of chunk(tags, 500)) {
      const rows = await this.q()
        .selectFrom('subscriptions')
        .select(['namespace', 'cloud', 'resource'])
        .where('tag', 'in', part)
        .execute();
      for (const r of rows) seen.set(keyOf(r.namespace, r.cloud, r.resource), r);
    }
    return [...seen.values()];
  }
}

export class MemoryRules implements RuleRepo {
  readonly rules = new Map<string, Map<string, RuleRow>>();
  readonly subscriptions = new Map<string, { key: ResourceKey; tags: Set<string> }>();
  private k = (key: ResourceKey) => keyOf(key.namespace, key.cloud, key.resource);

  async get(key: ResourceKey) {
    return [...(this.rules.get(this.k(key))?.values() ?? [])]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((r) => structuredClone(r));
  }
  async put(key: ResourceKey, rules: RuleRow[], subscribedTags: string[] | undefined) {
    const m = this.rules.get(this.k(key)) ?? new Map<string, RuleRow>();
    this.rules.set(this.k(key), m);
    for (const r of rules) m.set(r.name, structuredClone(r));
    if (subscribedTags)
      this.subscriptions.set(this.k(key), { key: { ...key }, tags: new Set(subscribedTags) });
  }
  async delete(key: ResourceKey, names: string[], subscribedTags: string[]) {
    const m = this.rules.get(this.k(key));
    for (const n of names) m?.delete(n);
    this.subscriptions.set(this.k(key), { key: { ...key }, tags: new Set(subscribedTags) });
  }
  async subscribersOf(tags: string[]) {
    return [...this.subscriptions.values()]
      .filter((s) => tags.some((t) => s.tags.has(t)))
      .map((s) => ({ ...s.key }));
  }
  /** Drops a deleted resource's rules and subscriptions (the SQL repo does it in the same transaction). */
  dropResource(namespace: string, cloud: string, name: string) {
    const k = keyOf(namespace, cloud, name);
    this.rules.delete(k);
    this.subscriptions.delete(k);
  }
}
