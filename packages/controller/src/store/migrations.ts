// Schema migrations, in order. Never edit a released one; add the next.
// Kysely's migrator records each applied migration in its own table (the
// schema version); where the dialects differ, the migration asks which one it
// runs on instead of trying one and catching the error.
import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely';
import { overlayMigration } from '../overlay/migration.js';
import type { Dialect } from './db.js';

const migrations = (dialect: Dialect): Record<string, Migration> => ({
  '0001_initial': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('resources')
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('cloud', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('uri', 'text', (c) => c.notNull())
        .addColumn('ip', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('resources_pk', ['namespace', 'cloud', 'name'])
        .execute();
      await db.schema
        .createTable('tags')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('uri', 'text')
        .addColumn('ip', 'text')
        .addColumn('members', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('tag_edges')
        .addColumn('parent', 'text', (c) => c.notNull())
        .addColumn('member', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('tag_edges_pk', ['parent', 'member'])
        .execute();
      await db.schema.createIndex('tag_edges_member').on('tag_edges').column('member').execute();
      await db.schema
        .createTable('rules')
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('cloud', 'text', (c) => c.notNull())
        .addColumn('resource', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('direction', 'text', (c) => c.notNull())
        .addColumn('src_port', 'integer', (c) => c.notNull())
        .addColumn('dst_port', 'integer', (c) => c.notNull())
        .addColumn('protocol', 'integer', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('targets', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('rules_pk', ['namespace', 'cloud', 'resource', 'name'])
        .execute();
      await db.schema
        .createTable('subscriptions')
        .addColumn('tag', 'text', (c) => c.notNull())
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('cloud', 'text', (c) => c.notNull())
        .addColumn('resource', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('subscriptions_pk', ['tag', 'namespace', 'cloud', 'resource'])
        .execute();
      await db.schema
        .createIndex('subscriptions_resource')
        .on('subscriptions')
        .columns(['namespace', 'cloud', 'resource'])
        .execute();
      await db.schema
        .createTable('connections')
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('cloud_a', 'text', (c) => c.notNull())
        .addColumn('cloud_b', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('shared_key', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('connections_pk', ['namespace', 'cloud_a', 'cloud_b'])
        .execute();
      if (dialect === 'postgres') {
        await db.schema
          .createTable('events')
          .addColumn('id', 'integer', (c) => c.primaryKey().generatedByDefaultAsIdentity())
          .addColumn('time', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .execute();
      } else {
        // SQLite has no identity columns; INTEGER PRIMARY KEY is its rowid alias.
        await sql`create table events (id integer primary key autoincrement, time text not null, type text not null, subject text not null, data text not null)`.execute(
          db,
        );
      }
      await db.schema
        .createTable('tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('issued_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema
        .createTable('kv')
        .addColumn('cloud', 'text', (c) => c.notNull())
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('kv_pk', ['cloud', 'namespace', 'key'])
        .execute();
      await db.schema
        .createTable('allocations')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('allocations_pk', ['kind', 'value'])
        .execute();
    },
  },
  '0002_tag_owner': {
    // Tags get an owning namespace (null: global) and the namespaces they are shared with.
    // A leaf tag belongs to its resource's namespace; parent tags made before are global.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('tags').addColumn('namespace', 'text').execute();
      await db.schema.alterTable('tags').addColumn('shared_with', 'text').execute();
      await sql`update tags set namespace = (select r.namespace from resources r where r.uri = tags.uri) where uri is not null`.execute(
        db,
      );
    },
  },
  '0003_operations': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('resources')
        .addColumn('state', 'text', (c) => c.notNull().defaultTo('ready'))
        .execute();
      await db.schema
        .createTable('operations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('parent', 'text')
        .addColumn('input', 'text', (c) => c.notNull())
        .addColumn('steps', 'text', (c) => c.notNull())
        .addColumn('result', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('error_code', 'text')
        .addColumn('not_before', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('finished_at', 'text')
        .execute();
      await db.schema.createIndex('operations_state').on('operations').columns(['state', 'id']).execute();
      await db.schema.createIndex('operations_subject').on('operations').columns(['subject', 'id']).execute();
      await db.schema.createIndex('operations_parent').on('operations').column('parent').execute();
    },
  },
  '0004_overlay': overlayMigration,
});

export const migrationProvider = (dialect: Dialect): MigrationProvider => ({
  getMigrations: async () => migrations(dialect),
});
