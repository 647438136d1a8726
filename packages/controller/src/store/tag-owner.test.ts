// Migration 0002: tags keep their owning namespace and shares across a reopen,
// and leaf tags made before it get their resource's namespace. SQLite always;
// PostgreSQL too when SKYWAY_TEST_POSTGRES_URL is set.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import pg from 'pg';
import { migrationProvider } from './migrations.js';
import { Store } from './store.js';

test('sqlite: ownership and shares round-trip; old leaf tags get their namespace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skyway-tagowner-'));
  try {
    const file = join(dir, 'skyway.db');
    // A store from before 0002: migrated to 0001 only, with a leaf and a parent tag.
    const raw = new Database(file);
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: raw }) });
    const to = await new Migrator({ db, provider: migrationProvider('sqlite') }).migrateTo('0001_initial');
    assert.equal(to.error, undefined);
    raw.exec(`insert into resources values ('team', 'east', 'vm', 'lab://vm', '10.1.1.1', 'now')`);
    raw.exec(
      `insert into tags (name, uri, ip, members, updated_at) values ('team.east.vm', 'lab://vm', '10.1.1.1', '[]', 'now')`,
    );
    raw.exec(`insert into tags (name, members, updated_at) values ('web', '["10.0.0.0/8"]', 'now')`);
    await db.destroy();
    const store = await Store.open(file);
    const tags = new Map((await store.listTags()).map((t) => [t.name, t]));
    await store.close();
    assert.equal(tags.get('team.east.vm')?.namespace, 'team');
    // What 0002 cannot know is global.
    assert.equal(tags.get('web')?.namespace, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [name, open] of [
  [
    'sqlite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'skyway-tagowner-'));
      return {
        location: join(dir, 'skyway.db'),
        cleanup: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  ],
  [
    'postgres',
    async () => {
      const url = process.env.SKYWAY_TEST_POSTGRES_URL!;
      const db = `skyway_tagowner_${randomBytes(4).toString('hex')}`;
      const admin = async (sql: string) => {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        await c.query(sql);
        await c.end();
      };
      await admin(`create database ${db}`);
      const u = new URL(url);
      u.pathname = `/${db}`;
      return { location: u.toString(), cleanup: () => admin(`drop database if exists ${db} with (force)`) };
    },
  ],
] as const) {
  test(`${name}: a tag's owner and shares survive a reopen`, {
    skip: name === 'postgres' && !process.env.SKYWAY_TEST_POSTGRES_URL,
  }, async () => {
    const { location, cleanup } = await open();
    try {
      let store = await Store.open(location);
      await store.putTag({
        name: 'web',
        members: ['10.0.0.0/8'],
        namespace: 'default',
        sharedWith: ['other', 'b'],
      });
      await store.putTag({
        name: 'web',
        members: ['10.0.0.0/9'],
        namespace: 'default',
        sharedWith: ['other'],
      });
      await store.putTag({ name: 'global', members: [] });
      await store.close();
      store = await Store.open(location);
      assert.deepEqual(await store.listTags(), [
        { name: 'global', uri: undefined, ip: undefined, members: [] },
        {
          name: 'web',
          uri: undefined,
          ip: undefined,
          members: ['10.0.0.0/9'],
          namespace: 'default',
          sharedWith: ['other'],
        },
      ]);
      await store.close();
    } finally {
      await cleanup();
    }
  });
}
