// The connections aggregate: one VPN per pair of clouds in a namespace, and the
// ASNs and BGP peering addresses handed out for it (allocations).
import type { Database } from './schema.js';
import { type DbRef, keyOf, now } from './sql.js';

export interface ConnectionRow {
  namespace: string;
  cloudA: string;
  cloudB: string;
  detail: Record<string, unknown>;
  /** Encrypted; decrypt with the SecretBox. */
  sharedKey: string;
  /** creating (intent recorded before any gateway call), up, or deleting. */
  status: string;
  createdAt: string;
}

export interface ConnectionRepo {
  get(namespace: string, cloudA: string, cloudB: string): Promise<ConnectionRow | undefined>;
  list(namespace?: string): Promise<ConnectionRow[]>;
  put(c: Omit<ConnectionRow, 'createdAt'>): Promise<void>;
  delete(namespace: string, cloudA: string, cloudB: string): Promise<void>;
  allocations(kind: string): Promise<string[]>;
  addAllocation(kind: string, value: string, owner: string): Promise<void>;
  releaseAllocations(owner: string): Promise<void>;
}

export class SqlConnections implements ConnectionRepo {
  constructor(private readonly q: DbRef) {}

  async get(namespace: string, cloudA: string, cloudB: string): Promise<ConnectionRow | undefined> {
    const r = await this.q()
      .selectFrom('connections')
      .selectAll()
      .where('namespace', '=', namespace)
      .where('cloud_a', '=', cloudA)
      .where('cloud_b', '=', cloudB)
      .executeTakeFirst();
    return r && toConnection(r);
  }

  async list(namespace?: string): Promise<ConnectionRow[]> {
    let q = this.q().selectFrom('connections').selectAll();
    if (namespace) q = q.where('namespace', '=', namespace);
    return (await q.orderBy('namespace').orderBy('cloud_a').orderBy('cloud_b').execute()).map(toConnection);
  }

  async put(c: Omit<ConnectionRow, 'createdAt'>): Promise<void> {
    const values = {
      namespace: c.namespace,
      cloud_a: c.cloudA,
      cloud_b: c.cloudB,
      detail: JSON.stringify(c.detail),
      shared_key: c.sharedKey,
      status: c.status,
      created_at: now(),
    };
    await this.q()
      .insertInto('connections')
      .values(values)
      .onConflict((oc) =>
        oc
          .columns(['namespace', 'cloud_a', 'cloud_b'])
          .doUpdateSet({ detail: values.detail, shared_key: values.shared_key, status: values.status }),
      )
      .execute();
  }

  async delete(namespace: string, cloudA: string, cloudB: string): Promise<void> {
    await this.q()
      .deleteFrom('connections')
      .where('namespace', '=', namespace)
      .where('cloud_a', '=', cloudA)
      .where('cloud_b', '=', cloudB)
      .execute();
  }

  async allocations(kind: string): Promise<string[]> {
    return (await this.q().selectFrom('allocations').select('value').where('kind', '=', kind).execute()).map(
      (r) => r.value,
    );
  }

  async addAllocation(kind: string, value: string, owner: string): Promise<void> {
    await this.q().insertInto('allocations').values({ kind, value, owner, created_at: now() }).execute();
  }

  async releaseAllocations(owner: string): Promise<void> {
    await this.q().deleteFrom('allocations').where('owner', '=', owner).execute();
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

export class MemoryConnections implements ConnectionRepo {
  readonly rows = new Map<string, ConnectionRow>();
  readonly allocated = new Map<string, { kind: string; value: string; owner: string }>();

  async get(namespace: string, cloudA: string, cloudB: string) {
    const c = this.rows.get(keyOf(namespace, cloudA, cloudB));
    return c && structuredClone(c);
  }
  async list(namespace?: string) {
    return [...this.rows.values()]
      .filter((c) => !namespace || c.namespace === namespace)
      .sort((a, b) =>
        keyOf(a.namespace, a.cloudA, a.cloudB).localeCompare(keyOf(b.namespace, b.cloudA, b.cloudB)),
      )
      .map((c) => structuredClone(c));
  }
  async put(c: Omit<ConnectionRow, 'createdAt'>) {
    const k = keyOf(c.namespace, c.cloudA, c.cloudB);
    this.rows.set(k, { ...structuredClone(c), createdAt: this.rows.get(k)?.createdAt ?? now() });
  }
  async delete(namespace: string, cloudA: string, cloudB: string) {
    this.rows.delete(keyOf(namespace, cloudA, cloudB));
  }
  async allocations(kind: string) {
    return [...this.allocated.values()].filter((a) => a.kind === kind).map((a) => a.value);
  }
  async addAllocation(kind: string, value: string, owner: string) {
    const k = keyOf(kind, value);
    if (this.allocated.has(k)) throw new Error(`UNIQUE constraint failed: allocations ${kind} ${value}`);
    this.allocated.set(k, { kind, value, owner });
  }
  async releaseAllocations(owner: string) {
    for (const [k, a] of this.allocated) if (a.owner === owner) this.allocated.delete(k);
  }
}
