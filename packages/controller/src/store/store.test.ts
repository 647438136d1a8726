// One store suite, run on SQLite always and on PostgreSQL when
// SKYWAY_TEST_POSTGRES_URL points at a server (CI starts one).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { newOperationId } from './operations.js';
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
        await tx.resources.insert({
          namespace: 'default',
          cloud: 'lab-east',
          name: 'vm-a',
          uri: 'lab://a',
          ip: '10.0.0.2',
        });
        await tx.putTag({ name: 'default.lab-east.vm-a', uri: 'lab://a', ip: '10.0.0.2', members: [] });
        await tx.putTag({ name: 'web', members: ['default.lab-east.vm-a', '10.9.0.0/16'] });
        await tx.rules.put(
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
      assert.equal((await store.resources.get('default', 'lab-east', 'vm-a'))?.ip, '10.0.0.2');
      const tags = await store.listTags();
      assert.deepEqual(tags.find((t) => t.name === 'web')?.members, ['default.lab-east.vm-a', '10.9.0.0/16']);
      const rules = await store.rules.get(key);
      assert.equal(rules[0]?.dstPort, 80);
      assert.deepEqual(await store.rules.subscribersOf(['web']), [key]);
    });

    test('putRules replaces a rule of the same name', async () => {
      await store.rules.put(
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
      const rules = await store.rules.get(key);
      assert.equal(rules.length, 1);
      assert.equal(rules[0]?.direction, 'OUTBOUND');
      assert.deepEqual(await store.rules.subscribersOf(['web']), []);
      assert.deepEqual(await store.rules.subscribersOf(['db']), [key]);
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
      await store.resources.delete('default', 'lab-east', 'vm-a');
      assert.equal(await store.resources.get('default', 'lab-east', 'vm-a'), undefined);
      assert.deepEqual(await store.rules.get(key), []);
      assert.deepEqual(await store.rules.subscribersOf(['db']), []);
    });

    test('events, tokens, kv, connections and allocations', async () => {
      const e1 = await store.events.append({ type: 'tag.updated', subject: 'web', data: { n: 1 } });
      const e2 = await store.events.append({ type: 'tag.updated', subject: 'web', data: { n: 2 } });
      assert.ok(e2.id > e1.id);
      assert.deepEqual(
        (await store.events.since(e1.id)).map((e) => e.data),
        [{ n: 2 }],
      );
      await store.events.prune(1);
      assert.equal((await store.events.since(0)).length, 1);

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

      await store.connections.put({
        namespace: 'default',
        cloudA: 'a',
        cloudB: 'b',
        detail: { x: 1 },
        sharedKey: 'enc',
        status: 'up',
      });
      assert.equal((await store.connections.list()).length, 1);
      await store.connections.delete('default', 'a', 'b');
      assert.equal((await store.connections.list()).length, 0);

      await store.addAllocation('asn', '64512', 'conn:a:b');
      await assert.rejects(store.addAllocation('asn', '64512', 'other'));
      assert.deepEqual(await store.allocations('asn'), ['64512']);
      await store.releaseAllocations('conn:a:b');
      assert.deepEqual(await store.allocations('asn'), []);
    });

    test('operations are written with the desired state, and what was running is pending after a reopen', async () => {
      await operationSuite(store);
      const running = await store.operations.insert({
        kind: 'rules.sync',
        subject: 's9',
        namespace: 'default',
      });
      await store.operations.update(running.id, { state: 'running', attempts: 1 });
      await store.close();
      store = await Store.open(location);
      assert.equal(await store.operations.requeueRunning(), 1);
      const back = await store.operations.get(running.id);
      assert.equal(back?.state, 'pending');
      assert.equal(back?.attempts, 1);
    });

    test('migrations ran once each (a reopen applies nothing twice)', async () => {
      await store.close();
      store = await Store.open(location);
      assert.equal(
        (await store.listTags()).some((t) => t.name === 'web'),
        true,
      );
    });
  });
}

/** What every store (SQL or memory) must do with operations. */
async function operationSuite(store: Store): Promise<void> {
  const a = await store.transaction(async (tx) => {
    await tx.putTag({ name: 'op-tag', members: [] });
    return tx.operations.insert({
      kind: 'tag.fanout',
      subject: 'tag:op-tag',
      namespace: 'default',
      input: { n: 1 },
    });
  });
  await assert.rejects(
    store.transaction(async (tx) => {
      await tx.operations.insert({ kind: 'tag.fanout', subject: 'tag:ghost', namespace: 'default' });
      throw new Error('boom');
    }),
  );
  assert.equal(
    (await store.operations.list({ subject: 'tag:ghost' })).length,
    0,
    'a rolled back operation is gone',
  );
  const b = await store.operations.insert({
    kind: 'rules.sync',
    subject: 's1',
    namespace: 'default',
    parent: a.id,
  });
  const c = await store.operations.insert({
    kind: 'rules.sync',
    subject: 's1',
    namespace: 'default',
    parent: a.id,
  });
  assert.ok(a.id < b.id && b.id < c.id, 'ids sort in creation order');
  assert.deepEqual(
    (await store.operations.pendingOf('s1')).map((o) => o.id),
    [b.id, c.id],
  );
  await store.operations.update(b.id, {
    state: 'failed',
    lastError: 'cloud "x" said no',
    errorCode: 'FAILED_PRECONDITION',
    steps: [{ name: 'apply', state: 'failed' }],
  });
  const got = await store.operations.get(b.id);
  assert.equal(got?.lastError, 'cloud "x" said no');
  assert.deepEqual(got?.steps, [{ name: 'apply', state: 'failed' }]);
  assert.deepEqual(await store.operations.childCounts(a.id), {
    pending: 1,
    running: 0,
    succeeded: 0,
    failed: 1,
  });
  const later = new Date(Date.now() + 60_000).toISOString();
  await store.operations.update(c.id, { notBefore: later });
  const due = (await store.operations.due(new Date().toISOString(), 100)).map((o) => o.id);
  assert.ok(due.includes(a.id) && !due.includes(c.id), 'an operation backing off is not due');
  assert.equal(await store.operations.nextDue(), (await store.operations.get(a.id))?.notBefore);
  await store.operations.updateMany([a.id, c.id], { state: 'succeeded', result: { ok: true } });
  assert.deepEqual((await store.operations.get(c.id))?.result, { ok: true });
  assert.deepEqual(
    (await store.operations.list({ parent: a.id })).map((o) => o.id),
    [c.id, b.id],
    'newest first',
  );
}

describe('store in memory', () => {
  test('the operations suite passes on the memory fake', async () => {
    await operationSuite(Store.memory());
  });

  test('a failed transaction leaves the memory fake as it was', async () => {
    const store = Store.memory();
    await store.resources.insert({ namespace: 'n', cloud: 'c', name: 'r', uri: 'u', ip: '10.0.0.1' });
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.resources.delete('n', 'c', 'r');
        await tx.putTag({ name: 'ghost', members: [] });
        throw new Error('boom');
      }),
    );
    assert.equal((await store.resources.get('n', 'c', 'r'))?.uri, 'u');
    assert.deepEqual(await store.listTags(), []);
  });

  test('operation ids are unique and ordered even within one millisecond', () => {
    const ids = Array.from({ length: 1000 }, newOperationId);
    assert.equal(new Set(ids).size, 1000);
    assert.deepEqual([...ids].sort(), ids);
  });
});
