// One store suite, run on SQLite always and on PostgreSQL when
// SKYWAY_TEST_POSTGRES_URL points at a server (CI starts one).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { Store } from './store.js';

interface Backend {
  name: string;
  /** A location that survives close/reopen (a file or a database URL). */
  location(): Promise<string>;
  cleanup(): Promise<void>;
}

const sqlite = (): Backend => {
  const dir = mkdtempSync(join(tmpdir(), 'skyway-store-'));
  return {
    name: 'sqlite',
    location: async () => join(dir, 'skyway.db'),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
};

const postgres = (url: string): Backend => {
  const dbName = `skyway_test_${randomBytes(4).toString('hex')}`;
  const admin = () => new pg.Client({ connectionString: url });
  return {
    name: 'postgres',
    location: async () => {
      const c = admin();
      await c.connect();
      await c.query(`create database ${dbName}`);
      await c.end();
      const u = new URL(url);
      u.pathname = `/${dbName}`;
      return u.toString();
    },
    cleanup: async () => {
      const c = admin();
      await c.connect();
      await c.query(`drop database if exists ${dbName} with (force)`);
      await c.end();
    },
  };
};

const backends = [sqlite()];
if (process.env.SKYWAY_TEST_POSTGRES_URL) backends.push(postgres(process.env.SKYWAY_TEST_POSTGRES_URL));

for (const backend of backends) {
  describe(`store on ${backend.name}`, async () => {
    const location = await backend.location();
    let store = await Store.open(location);
    after(async () => {
      await store.close();
      await backend.cleanup();
    });
    const key = { namespace: 'default', cloud: 'lab-east', resource: 'vm-a' };

    test('resources, tags, rules and subscriptions survive a reopen', async () => {
      await store.transaction(async (tx) => {
        await tx.insertResource({
          namespace: 'default',
          cloud: 'lab-east',
          name: 'vm-a',
          uri: 'lab://a',
          ip: '10.0.0.2',
        });
        await tx.putTag({ name: 'default.lab-east.vm-a', uri: 'lab://a', ip: '10.0.0.2', members: [] });
        await tx.putTag({ name: 'web', members: ['default.lab-east.vm-a', '10.9.0.0/16'] });
        await tx.putRules(
          key,
          [
            {
              name: 'r1',
              direction: 'INBOUND',
              srcPort: -1,
              dstPort: 80,
              protocol: 6,
              tags: ['web'],
              targets: ['10.0.0.2/32'],
            },
          ],
          ['web'],
        );
      });
      await store.close();
      store = await Store.open(location);
      assert.equal((await store.getResource('default', 'lab-east', 'vm-a'))?.ip, '10.0.0.2');
      const tags = await store.listTags();
      assert.deepEqual(tags.find((t) => t.name === 'web')?.members, ['default.lab-east.vm-a', '10.9.0.0/16']);
      const rules = await store.getRules(key);
      assert.equal(rules[0]?.dstPort, 80);
      assert.deepEqual(await store.subscribersOf(['web']), [key]);
    });

    test('putRules replaces a rule of the same name', async () => {
      await store.putRules(
        key,
        [
          {
            name: 'r1',
            direction: 'OUTBOUND',
            srcPort: -1,
            dstPort: 443,
            protocol: 6,
            tags: ['db'],
            targets: [],
          },
        ],
        ['db'],
      );
      const rules = await store.getRules(key);
      assert.equal(rules.length, 1);
      assert.equal(rules[0]?.direction, 'OUTBOUND');
      assert.deepEqual(await store.subscribersOf(['web']), []);
      assert.deepEqual(await store.subscribersOf(['db']), [key]);
    });

    test('a failed transaction writes nothing', async () => {
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.putTag({ name: 'ghost', members: [] });
          throw new Error('boom');
        }),
      );
      assert.equal(
        (await store.listTags()).some((t) => t.name === 'ghost'),
        false,
      );
    });

    test('deleting a resource removes its rules and subscriptions', async () => {
      await store.deleteResource('default', 'lab-east', 'vm-a');
      assert.equal(await store.getResource('default', 'lab-east', 'vm-a'), undefined);
      assert.deepEqual(await store.getRules(key), []);
      assert.deepEqual(await store.subscribersOf(['db']), []);
    });

    test('events, tokens, kv, connections and allocations', async () => {
      const e1 = await store.appendEvent({ type: 'tag.updated', subject: 'web', data: { n: 1 } });
      const e2 = await store.appendEvent({ type: 'tag.updated', subject: 'web', data: { n: 2 } });
      assert.ok(e2.id > e1.id);
      assert.deepEqual(
        (await store.eventsSince(e1.id)).map((e) => e.data),
        [{ n: 2 }],
      );
      await store.pruneEvents(1);
      assert.equal((await store.eventsSince(0)).length, 1);

      await store.insertToken({
        id: 't1',
        subject: 'admin',
        scope: { kind: 'api' },
        issuedAt: 'x',
        expiresAt: 'y',
      });
      assert.equal(await store.isTokenRevoked('t1'), false);
      assert.equal(await store.revokeToken('t1'), true);
      assert.equal(await store.isTokenRevoked('t1'), true);
      assert.equal(await store.revokeToken('nope'), false);

      await store.kvSet('c', 'n', 'k', 'v1');
      await store.kvSet('c', 'n', 'k', 'v2');
      assert.equal(await store.kvGet('c', 'n', 'k'), 'v2');
      await store.kvDelete('c', 'n', 'k');
      assert.equal(await store.kvGet('c', 'n', 'k'), undefined);

      await store.putConnection({
        namespace: 'default',
        cloudA: 'a',
        cloudB: 'b',
        detail: { x: 1 },
        sharedKey: 'enc',
        status: 'up',
      });
      assert.equal((await store.listConnections()).length, 1);
      await store.deleteConnection('default', 'a', 'b');
      assert.equal((await store.listConnections()).length, 0);

      await store.addAllocation('asn', '64512', 'conn:a:b');
      await assert.rejects(store.addAllocation('asn', '64512', 'other'));
      assert.deepEqual(await store.allocations('asn'), ['64512']);
      await store.releaseAllocations('conn:a:b');
      assert.deepEqual(await store.allocations('asn'), []);
    });
  });
}
