// The controller's store: every query lives here, behind one class, so the
// services above never see SQL and the same code runs on SQLite and PostgreSQL.
import type { Kysely, Transaction } from 'kysely';
import { type Dialect, openDb } from './db.js';
import type { Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

export interface ResourceRow {
  namespace: string;
  cloud: string;
  name: string;
  uri: string;
  ip: string;
  createdAt: string;
}

export interface TagRow {
  name: string;
  uri?: string;
  ip?: string;
  members: string[];
  /** The owning namespace; undefined = global. */
  namespace?: string;
  sharedWith?: string[];
}

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

export interface ConnectionRow {
  namespace: string;
  cloudA: string;
  cloudB: string;
  detail: Record<string, unknown>;
  /** Encrypted; decrypt with the SecretBox. */
  sharedKey: string;
  status: string;
  createdAt: string;
}

export interface EventRow {
  id: number;
  time: string;
  type: string;
  subject: string;
  data: unknown;
}

export interface TokenRow {
  id: string;
  subject: string;
  scope: unknown;
  issuedAt: string;
  expiresAt: string;
  revokedAt?: string;
}

const now = () => new Date().toISOString();
const chunk = <T>(items: T[], size: number) =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

export class Store {
  private constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    private readonly tx?: Transaction<Database>,
    private readonly committed: Array<() => void> = [],
  ) {}

  static async open(location: string): Promise<Store> {
    const { db, dialect } = await openDb(location);
    return new Store(db, dialect);
  }

  private get q(): Db {
    return this.tx ?? this.db;
  }

  /** Runs `fn` in one transaction; everything it writes lands together or not at all. */
  async transaction<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    if (this.tx) return fn(this);
    const committed: Array<() => void> = [];
    const result = await this.db
      .transaction()
      .execute((trx) => fn(new Store(this.db, this.dialect, trx, committed)));
    for (const hook of committed) hook();
    return result;
  }

  /** Runs `hook` once what was written so far is committed: now outside a transaction, else after it commits. */
  afterCommit(hook: () => void): void {
    if (this.tx) this.committed.push(hook);
    else hook();
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  // ---- resources ----

  async insertResource(r: Omit<ResourceRow, 'createdAt'>): Promise<void> {
    await this.q
      .insertInto('resources')
      .values({ ...r, created_at: now() })
      .execute();
  }

  async getResource(namespace: string, cloud: string, name: string): Promise<ResourceRow | undefined> {
    const row = await this.q
      .selectFrom('resources')
      .selectAll()
      .where('namespace', '=', namespace)
      .where('cloud', '=', cloud)
      .where('name', '=', name)
      .executeTakeFirst();
    return row && { ...row, createdAt: row.created_at };
  }

  async listResources(filter: { namespace?: string; cloud?: string } = {}): Promise<ResourceRow[]> {
    let q = this.q.selectFrom('resources').selectAll();
    if (filter.namespace) q = q.where('namespace', '=', filter.namespace);
    if (filter.cloud) q = q.where('cloud', '=', filter.cloud);
    const rows = await q.orderBy('namespace').orderBy('cloud').orderBy('name').execute();
    return rows.map((r) => ({ ...r, createdAt: r.created_at }));
  }

  async deleteResource(namespace: string, cloud: string, name: string): Promise<void> {
    await this.q
      .deleteFrom('rules')
      .where('namespace', '=', namespace)
      .where('cloud', '=', cloud)
      .where('resource', '=', name)
      .execute();
    await this.q
      .deleteFrom('subscriptions')
      .where('namespace', '=', namespace)
      .where('cloud', '=', cloud)
      .where('resource', '=', name)
      .execute();
    await this.q
      .deleteFrom('resources')
      .where('namespace', '=', namespace)
      .where('cloud', '=', cloud)
      .where('name', '=', name)
      .execute();
  }

  // ---- tags ----

  async listTags(): Promise<TagRow[]> {
    const rows = await this.q.selectFrom('tags').selectAll().orderBy('name').execute();
    return rows.map((r) => ({
      name: r.name,
      uri: r.uri ?? undefined,
      ip: r.ip ?? undefined,
      members: JSON.parse(r.members),
      ...(r.namespace ? { namespace: r.namespace } : {}),
      ...(r.shared_with ? { sharedWith: JSON.parse(r.shared_with) } : {}),
    }));
  }

  async putTag(tag: TagRow): Promise<void> {
    const values = {
      name: tag.name,
      uri: tag.uri ?? null,
      ip: tag.ip ?? null,
      members: JSON.stringify(tag.members),
      updated_at: now(),
      namespace: tag.namespace ?? null,
      shared_with: tag.sharedWith?.length ? JSON.stringify(tag.sharedWith) : null,
    };
    await this.q
      .insertInto('tags')
      .values(values)
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({
          uri: values.uri,
          ip: values.ip,
          members: values.members,
          updated_at: values.updated_at,
          namespace: values.namespace,
          shared_with: values.shared_with,
        }),
      )
      .execute();
    await this.q.deleteFrom('tag_edges').where('parent', '=', tag.name).execute();
    for (const part of chunk(tag.members, 500)) {
      await this.q
        .insertInto('tag_edges')
        .values(part.map((member) => ({ parent: tag.name, member })))
        .execute();
    }
  }

  async deleteTag(name: string): Promise<void> {
    await this.q.deleteFrom('tag_edges').where('parent', '=', name).execute();
    await this.q.deleteFrom('tags').where('name', '=', name).execute();
  }

  // ---- rules and subscriptions ----

  async getRules(key: ResourceKey): Promise<RuleRow[]> {
    const rows = await this.q
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

  /**
   * Inserts or replaces rules by name, then records the resource's subscriptions
   * (undefined: they did not change).
   */
  async putRules(key: ResourceKey, rules: RuleRow[], subscribedTags: string[] | undefined): Promise<void> {
    const t = now();
    for (const part of chunk(rules, 200)) {
      if (part.length === 0) continue;
      await this.q
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

  async deleteRules(key: ResourceKey, names: string[], subscribedTags: string[]): Promise<void> {
    if (names.length > 0) {
      await this.q
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
    await this.q
      .deleteFrom('subscriptions')
      .where('namespace', '=', key.namespace)
      .where('cloud', '=', key.cloud)
      .where('resource', '=', key.resource)
      .execute();
    const unique = [...new Set(tags)];
    for (const part of chunk(unique, 500)) {
      await this.q
        .insertInto('subscriptions')
        .values(part.map((tag) => ({ tag, ...key })))
        .execute();
    }
  }

  /** Every resource whose rules reference any of `tags`. */
  async subscribersOf(tags: string[]): Promise<ResourceKey[]> {
    if (tags.length === 0) return [];
    const seen = new Map<string, ResourceKey>();
    for (const part of chunk(tags, 500)) {
      const rows = await this.q
        .selectFrom('subscriptions')
        .select(['namespace', 'cloud', 'resource'])
        .where('tag', 'in', part)
        .execute();
      for (const r of rows) seen.set(`${r.namespace}\0${r.cloud}\0${r.resource}`, r);
    }
    return [...seen.values()];
  }

  // ---- connections ----

  async getConnection(namespace: string, cloudA: string, cloudB: string): Promise<ConnectionRow | undefined> {
    const r = await this.q
      .selectFrom('connections')
      .selectAll()
      .where('namespace', '=', namespace)
      .where('cloud_a', '=', cloudA)
      .where('cloud_b', '=', cloudB)
      .executeTakeFirst();
    return r && toConnection(r);
  }

  async listConnections(namespace?: string): Promise<ConnectionRow[]> {
    let q = this.q.selectFrom('connections').selectAll();
    if (namespace) q = q.where('namespace', '=', namespace);
    return (await q.orderBy('namespace').orderBy('cloud_a').orderBy('cloud_b').execute()).map(toConnection);
  }

  async putConnection(c: Omit<ConnectionRow, 'createdAt'>): Promise<void> {
    const values = {
      namespace: c.namespace,
      cloud_a: c.cloudA,
      cloud_b: c.cloudB,
      detail: JSON.stringify(c.detail),
      shared_key: c.sharedKey,
      status: c.status,
      created_at: now(),
    };
    await this.q
      .insertInto('connections')
      .values(values)
      .onConflict((oc) =>
        oc
          .columns(['namespace', 'cloud_a', 'cloud_b'])
          .doUpdateSet({ detail: values.detail, shared_key: values.shared_key, status: values.status }),
      )
      .execute();
  }

  async deleteConnection(namespace: string, cloudA: string, cloudB: string): Promise<void> {
    await this.q
      .deleteFrom('connections')
      .where('namespace', '=', namespace)
      .where('cloud_a', '=', cloudA)
      .where('cloud_b', '=', cloudB)
      .execute();
  }

  // ---- events ----

  async appendEvent(e: { type: string; subject: string; data: unknown }): Promise<EventRow> {
    const time = now();
    const row = await this.q
      .insertInto('events')
      .values({ time, type: e.type, subject: e.subject, data: JSON.stringify(e.data ?? {}) })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: Number(row.id), time, type: e.type, subject: e.subject, data: e.data ?? {} };
  }

  async eventsSince(afterId: number, limit = 1000): Promise<EventRow[]> {
    const rows = await this.q
      .selectFrom('events')
      .selectAll()
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      time: r.time,
      type: r.type,
      subject: r.subject,
      data: JSON.parse(r.data),
    }));
  }

  /** Keeps the newest `keep` events. */
  async pruneEvents(keep: number): Promise<void> {
    const newest = await this.q
      .selectFrom('events')
      .select('id')
      .orderBy('id', 'desc')
      .offset(keep)
      .limit(1)
      .executeTakeFirst();
    if (newest) await this.q.deleteFrom('events').where('id', '<=', newest.id).execute();
  }

  // ---- tokens ----

  async insertToken(t: Omit<TokenRow, 'revokedAt'>): Promise<void> {
    await this.q
      .insertInto('tokens')
      .values({
        id: t.id,
        subject: t.subject,
        scope: JSON.stringify(t.scope),
        issued_at: t.issuedAt,
        expires_at: t.expiresAt,
        revoked_at: null,
      })
      .execute();
  }

  async listTokens(): Promise<TokenRow[]> {
    const rows = await this.q.selectFrom('tokens').selectAll().orderBy('issued_at').execute();
    return rows.map((r) => ({
      id: r.id,
      subject: r.subject,
      scope: JSON.parse(r.scope),
      issuedAt: r.issued_at,
      expiresAt: r.expires_at,
      revokedAt: r.revoked_at ?? undefined,
    }));
  }

  /** Returns false when no such token was issued. */
  async revokeToken(id: string): Promise<boolean> {
    const res = await this.q
      .updateTable('tokens')
      .set({ revoked_at: now() })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async isTokenRevoked(id: string): Promise<boolean> {
    const r = await this.q.selectFrom('tokens').select('revoked_at').where('id', '=', id).executeTakeFirst();
    return !!r?.revoked_at;
  }

  // ---- plugin key-value store ----

  async kvSet(cloud: string, namespace: string, key: string, value: string): Promise<void> {
    await this.q
      .insertInto('kv')
      .values({ cloud, namespace, key, value })
      .onConflict((oc) => oc.columns(['cloud', 'namespace', 'key']).doUpdateSet({ value }))
      .execute();
  }

  async kvGet(cloud: string, namespace: string, key: string): Promise<string | undefined> {
    const r = await this.q
      .selectFrom('kv')
      .select('value')
      .where('cloud', '=', cloud)
      .where('namespace', '=', namespace)
      .where('key', '=', key)
      .executeTakeFirst();
    return r?.value;
  }

  async kvDelete(cloud: string, namespace: string, key: string): Promise<void> {
    await this.q
      .deleteFrom('kv')
      .where('cloud', '=', cloud)
      .where('namespace', '=', namespace)
      .where('key', '=', key)
      .execute();
  }

  // ---- allocations ----

  async allocations(kind: string): Promise<string[]> {
    return (await this.q.selectFrom('allocations').select('value').where('kind', '=', kind).execute()).map(
      (r) => r.value,
    );
  }

  async addAllocation(kind: string, value: string, owner: string): Promise<void> {
    await this.q.insertInto('allocations').values({ kind, value, owner, created_at: now() }).execute();
  }

  async releaseAllocations(owner: string): Promise<void> {
    await this.q.deleteFrom('allocations').where('owner', '=', owner).execute();
  }
}

function toConnection(r: Database['connections']): ConnectionRow {
  return {
    namespace: r.namespace,
    cloudA: r.cloud_a,
    cloudB: r.cloud_b,
    detail: JSON.parse(r.detail),
    sharedKey: r.shared_key,
    status: r.status,
    createdAt: r.created_at,
  };
}
