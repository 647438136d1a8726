// The overlay service's own store: SCC objects as rows of one table keyed by
// (kind, overlay, name), and each site's versioned document. It shares the
// controller's database (and migrations) but no queries with the rest.
import type { Kysely } from 'kysely';
import type { Store } from '../store/store.js';
import type { OverlayTables } from './migration.js';

export type ObjectKind =
  | 'overlay'
  | 'proposal'
  | 'hub'
  | 'iprange'
  | 'device'
  | 'certificate'
  | 'provider-iprange'
  | 'hub-device'
  | 'site-cert'
  | 'overlay-ca';

export interface Metadata {
  name: string;
  description: string;
  userData1: string;
  userData2: string;
}

export interface ObjectRow<S = Record<string, unknown>, T = Record<string, unknown>> {
  kind: ObjectKind;
  /** '' for overlays themselves and provider ranges. */
  overlay: string;
  name: string;
  namespace: string;
  metadata: Metadata;
  spec: S;
  status: T;
  /** Sealed JSON of the object's secrets, if any. */
  secret?: string;
  seq: number;
}

export interface DocumentRow {
  overlay: string;
  site: string;
  agent: string;
  version: number;
  hash: string;
  /** Sealed. */
  document: string;
  appliedVersion: number;
  report: unknown;
}

type Db = Kysely<OverlayTables>;

const toRow = (r: OverlayTables['overlay_objects']): ObjectRow => ({
  kind: r.kind as ObjectKind,
  overlay: r.overlay,
  name: r.name,
  namespace: r.namespace,
  metadata: JSON.parse(r.metadata),
  spec: JSON.parse(r.spec),
  status: JSON.parse(r.status),
  ...(r.secret ? { secret: r.secret } : {}),
  seq: Number(r.seq),
});

export class OverlayStore {
  private constructor(private readonly db: Db) {}

  static of(store: Store): OverlayStore {
    return new OverlayStore((store as unknown as { db: Db }).db);
  }

  /** Runs `fn` in one transaction. */
  transaction<T>(fn: (s: OverlayStore) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this);
    return this.db.transaction().execute((trx) => fn(new OverlayStore(trx)));
  }

  async get(kind: ObjectKind, overlay: string, name: string): Promise<ObjectRow | undefined> {
    const r = await this.db
      .selectFrom('overlay_objects')
      .selectAll()
      .where('kind', '=', kind)
      .where('overlay', '=', overlay)
      .where('name', '=', name)
      .executeTakeFirst();
    return r && toRow(r);
  }

  /** Objects of `kind` in `overlay` (any overlay when undefined), in creation order. */
  async list(kind: ObjectKind, overlay?: string): Promise<ObjectRow[]> {
    let q = this.db.selectFrom('overlay_objects').selectAll().where('kind', '=', kind);
    if (overlay !== undefined) q = q.where('overlay', '=', overlay);
    return (await q.orderBy('seq').execute()).map(toRow);
  }

  /** Every object of an overlay, all kinds (planning reads them at once). */
  async listOverlay(overlay: string): Promise<ObjectRow[]> {
    const rows = await this.db
      .selectFrom('overlay_objects')
      .selectAll()
      .where('overlay', '=', overlay)
      .orderBy('seq')
      .execute();
    return rows.map(toRow);
  }

  async count(overlay: string, kinds: ObjectKind[]): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('overlay_objects')
      .select(['kind', (eb) => eb.fn.countAll<number>().as('n')])
      .where('overlay', '=', overlay)
      .where('kind', 'in', kinds)
      .groupBy('kind')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.kind, Number(r.n)]));
  }

  async insert(row: Omit<ObjectRow, 'seq'>): Promise<ObjectRow> {
    const max = await this.db
      .selectFrom('overlay_objects')
      .select((eb) => eb.fn.max<number>('seq').as('m'))
      .executeTakeFirst();
    const seq = Number(max?.m ?? 0) + 1;
    await this.db
      .insertInto('overlay_objects')
      .values({ ...this.values(row), seq, kind: row.kind, overlay: row.overlay, name: row.name })
      .execute();
    return { ...row, seq };
  }

  async update(row: Omit<ObjectRow, 'seq'>): Promise<void> {
    await this.db
      .updateTable('overlay_objects')
      .set(this.values(row))
      .where('kind', '=', row.kind)
      .where('overlay', '=', row.overlay)
      .where('name', '=', row.name)
      .execute();
  }

  private values(row: Omit<ObjectRow, 'seq'>) {
    return {
      namespace: row.namespace,
      metadata: JSON.stringify(row.metadata),
      spec: JSON.stringify(row.spec),
      status: JSON.stringify(row.status),
      secret: row.secret ?? null,
      updated_at: new Date().toISOString(),
    };
  }

  async delete(kind: ObjectKind, overlay: string, name: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('overlay_objects')
      .where('kind', '=', kind)
      .where('overlay', '=', overlay)
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Removes everything an overlay holds but the overlay row itself (its CA and documents included). */
  async deleteOverlayContents(overlay: string): Promise<void> {
    await this.db.deleteFrom('overlay_objects').where('overlay', '=', overlay).execute();
    await this.db.deleteFrom('overlay_documents').where('overlay', '=', overlay).execute();
  }

  // ---- site documents ----

  async documents(overlay?: string): Promise<DocumentRow[]> {
    let q = this.db.selectFrom('overlay_documents').selectAll();
    if (overlay !== undefined) q = q.where('overlay', '=', overlay);
    const rows = await q.orderBy('overlay').orderBy('site').execute();
    return rows.map((r) => ({
      overlay: r.overlay,
      site: r.site,
      agent: r.agent,
      version: Number(r.version),
      hash: r.hash,
      document: r.document,
      appliedVersion: Number(r.applied_version),
      report: JSON.parse(r.report),
    }));
  }

  async putDocument(d: Omit<DocumentRow, 'appliedVersion' | 'report'>): Promise<void> {
    const now = new Date().toISOString();
    await this.db
      .insertInto('overlay_documents')
      .values({ ...d, applied_version: 0, report: '{}', updated_at: now })
      .onConflict((oc) =>
        oc.columns(['overlay', 'site']).doUpdateSet({
          agent: d.agent,
          version: d.version,
          hash: d.hash,
          document: d.document,
          updated_at: now,
        }),
      )
      .execute();
  }

  async deleteDocument(overlay: string, site: string): Promise<void> {
    await this.db
      .deleteFrom('overlay_documents')
      .where('overlay', '=', overlay)
      .where('site', '=', site)
      .execute();
  }

  async recordReport(overlay: string, site: string, appliedVersion: number, report: unknown): Promise<void> {
    await this.db
      .updateTable('overlay_documents')
      .set({
        applied_version: appliedVersion,
        report: JSON.stringify(report),
        updated_at: new Date().toISOString(),
      })
      .where('overlay', '=', overlay)
      .where('site', '=', site)
      .execute();
  }
}
