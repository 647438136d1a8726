// The overlay service's tables (appended to the store's migration list).
// Objects are kept as JSON so SCC's shapes round-trip; secrets (kubeconfigs,
// private keys) live sealed in their own column and never in `spec`.
import type { Kysely, Migration } from 'kysely';

export const overlayMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('overlay_objects')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('overlay', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('namespace', 'text', (c) => c.notNull())
      .addColumn('metadata', 'text', (c) => c.notNull())
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('secret', 'text')
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('overlay_objects_pk', ['kind', 'overlay', 'name'])
      .execute();
    await db.schema
      .createIndex('overlay_objects_overlay')
      .on('overlay_objects')
      .columns(['overlay', 'kind'])
      .execute();
    // One versioned document per site (hub or device) of an overlay, and what its agent last reported.
    await db.schema
      .createTable('overlay_documents')
      .addColumn('overlay', 'text', (c) => c.notNull())
      .addColumn('site', 'text', (c) => c.notNull())
      .addColumn('agent', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('applied_version', 'integer', (c) => c.notNull())
      .addColumn('report', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('overlay_documents_pk', ['overlay', 'site'])
      .execute();
  },
};

export interface OverlayTables {
  overlay_objects: {
    kind: string;
    overlay: string;
    name: string;
    namespace: string;
    metadata: string;
    spec: string;
    status: string;
    secret: string | null;
    /** Creation order (SCC lists and allocates in it). */
    seq: number;
    updated_at: string;
  };
  overlay_documents: {
    overlay: string;
    site: string;
    agent: string;
    version: number;
    hash: string;
    /** Sealed JSON: it holds the site's private key. */
    document: string;
    applied_version: number;
    /** JSON: the agent's last report (SA states per tunnel). */
    report: string;
    updated_at: string;
  };
}
