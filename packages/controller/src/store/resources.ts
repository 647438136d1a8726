// The resources aggregate: what Skyway manages in each cloud. A row is written
// before the cloud call that creates it (state "creating"), so a crash between
// the two leaves a record to finish or undo.
import { type DbRef, keyOf, now } from './sql.js';

export type ResourceState = 'ready' | 'creating' | 'deleting';

export interface ResourceRow {
  namespace: string;
  cloud: string;
  name: string;
  uri: string;
  ip: string;
  state: ResourceState;
  createdAt: string;
}

export type NewResource = Omit<ResourceRow, 'createdAt' | 'state'> & { state?: ResourceState };

export interface ResourceRepo {
  insert(r: NewResource): Promise<void>;
  get(namespace: string, cloud: string, name: string): Promise<ResourceRow | undefined>;
  list(filter?: { namespace?: string; cloud?: string }): Promise<ResourceRow[]>;
  update(
    namespace: string,
    cloud: string,
    name: string,
    patch: Partial<Pick<ResourceRow, 'uri' | 'ip' | 'state'>>,
  ): Promise<void>;
  /** Deletes the resource with its rules and subscriptions (the caller's transaction covers all three). */
  delete(namespace: string, cloud: string, name: string): Promise<void>;
}

export class SqlResources implements ResourceRepo {
  constructor(private readonly q: DbRef) {}

  async insert(r: NewResource): Promise<void> {
    await this.q()
      .insertInto('resources')
      .values({ ...r, state: r.state ?? 'ready', created_at: now() })
      .execute();
  }

  async get(namespace: string, cloud: string, name: string): Promise<ResourceRow | undefined> {
    const row = await this.q()
      .selectFrom('resources')
      .selectAll()
      .where('namespace', '=', namespace)
      .where('cloud', '=', cloud)
      .where('name', '=', name)
      .executeTakeFirst();
    return row && toRow(row);
  }

  async list(filter: { namespace?: string; cloud?: string } = {}): Promise<ResourceRow[]> {
    let q = this.q().selectFrom('resources').selectAll();
    if (filter.namespace) q = q.where('namespace', '=', filter.namespace);
    if (filter.cloud) q = q.where('cloud', '=', filter.cloud);
    const rows = await q.orderBy('namespace').orderBy('cloud').orderBy('name').execute();
    return rows.map(toRow);
  }

  async update(
    namespace: string,
    cloud: string,
    name: string,
    patch: Partial<Pick<ResourceRow, 'uri' | 'ip' | 'state'>>,
  ): Promise<void> {
    await this.q()
      .updateTable('resources')
      .set(patch)
      .where('namespace', '=', namespace)
      .where('cloud', '=', cloud)
      .where('name', '=', name)
      .execute();
  }

  async delete(namespace: string, cloud: string, name: string): Promise<void> {
    for (const table of ['rules', 'subscriptions'] as const) {
      await this.q()
        .deleteFrom(table)
        .where('namespace', '=', namespace)
        .where('cloud', '=', cloud)
        .where('resource', '=', name)
        .execute();
    }
    await this.q()
      .deleteFrom('resources')
      .where('namespace', '=', namespace)
      .where('cloud', '=', cloud)
      .where('name', '=', name)
      .execute();
  }
}

const toRow = (r: {
  namespace: string;
  cloud: string;
  name: string;
  uri: string;
  ip: string;
  state: string;
  created_at: string;
}): ResourceRow => ({
  namespace: r.namespace,
  cloud: r.cloud,
  name: r.name,
  uri: r.uri,
  ip: r.ip,
  state: r.state as ResourceState,
  createdAt: r.created_at,
});

/** In-memory fake for unit tests; `onDelete` lets the rules fake drop the resource's rules too. */
export class MemoryResources implements ResourceRepo {
  readonly rows = new Map<string, ResourceRow>();
  constructor(
    private readonly onDelete: (namespace: string, cloud: string, name: string) => void = () => {},
  ) {}

  async insert(r: NewResource): Promise<void> {
    const k = keyOf(r.namespace, r.cloud, r.name);
    if (this.rows.has(k)) throw new Error(`UNIQUE constraint failed: resources ${k}`);
    this.rows.set(k, { ...r, state: r.state ?? 'ready', createdAt: now() });
  }
  async get(namespace: string, cloud: string, name: string) {
    const r = this.rows.get(keyOf(namespace, cloud, name));
    return r && { ...r };
  }
  async list(filter: { namespace?: string; cloud?: string } = {}) {
    return [...this.rows.values()]
      .filter(
        (r) =>
          (!filter.namespace || r.namespace === filter.namespace) &&
          (!filter.cloud || r.cloud === filter.cloud),
      )
      .sort((a, b) => keyOf(a.namespace, a.cloud, a.name).localeCompare(keyOf(b.namespace, b.cloud, b.name)))
      .map((r) => ({ ...r }));
  }
  async update(
    namespace: string,
    cloud: string,
    name: string,
    patch: Partial<Pick<ResourceRow, 'uri' | 'ip' | 'state'>>,
  ) {
    const r = this.rows.get(keyOf(namespace, cloud, name));
    if (r) Object.assign(r, patch);
  }
  async delete(namespace: string, cloud: string, name: string) {
    this.rows.delete(keyOf(namespace, cloud, name));
    this.onDelete(namespace, cloud, name);
  }
}
