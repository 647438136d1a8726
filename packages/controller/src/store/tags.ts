// The tags aggregate: leaf tags (one resource) and parent tags with their
// members, plus the reverse index (member -> parent) the fan-out reads.
import { chunk, type DbRef, now } from './sql.js';

export interface TagRow {
  name: string;
  uri?: string;
  ip?: string;
  members: string[];
  /** The owning namespace; undefined = global. */
  namespace?: string;
  sharedWith?: string[];
}

export interface TagRepo {
  list(): Promise<TagRow[]>;
  put(tag: TagRow): Promise<void>;
  delete(name: string): Promise<void>;
}

export class SqlTags implements TagRepo {
  constructor(private readonly q: DbRef) {}

  async list(): Promise<TagRow[]> {
    const rows = await this.q().selectFrom('tags').selectAll().orderBy('name').execute();
    return rows.map((r) => ({
      name: r.name,
      uri: r.uri ?? undefined,
      ip: r.ip ?? undefined,
      members: JSON.parse(r.members),
      ...(r.namespace ? { namespace: r.namespace } : {}),
      ...(r.shared_with ? { sharedWith: JSON.parse(r.shared_with) } : {}),
    }));
  }

  async put(tag: TagRow): Promise<void> {
    const values = {
      name: tag.name,
      uri: tag.uri ?? null,
      ip: tag.ip ?? null,
      members: JSON.stringify(tag.members),
      updated_at: now(),
      namespace: tag.namespace ?? null,
      shared_with: tag.sharedWith?.length ? JSON.stringify(tag.sharedWith) : null,
    };
    await this.q()
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
    await this.q().deleteFrom('tag_edges').where('parent', '=', tag.name).execute();
    for (const part of chunk(tag.members, 500)) {
      await this.q()
        .insertInto('tag_edges')
        .values(part.map((member) => ({ parent: tag.name, member })))
        .execute();
    }
  }

  async delete(name: string): Promise<void> {
    await this.q().deleteFrom('tag_edges').where('parent', '=', name).execute();
    await this.q().deleteFrom('tags').where('name', '=', name).execute();
  }
}

export class MemoryTags implements TagRepo {
  readonly rows = new Map<string, TagRow>();
  async list() {
    return [...this.rows.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((t) => structuredClone(t));
  }
  async put(tag: TagRow) {
    this.rows.set(tag.name, structuredClone(tag));
  }
  async delete(name: string) {
    this.rows.delete(name);
  }
}
