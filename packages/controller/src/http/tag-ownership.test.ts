// Tags belong to namespaces: a team scoped to `other` can neither change nor
// read `default`'s tags, nor name them in its rules, unless `default` shares
// them; global tags are the admins'.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Role } from '../auth/tokens.js';
import { type Harness, startHarness } from '../testing/harness.js';

const east = '/api/v1/namespaces/default/clouds/east/resources';
const otherEast = '/api/v1/namespaces/other/clouds/east/resources';
const vm = (name: string) => ({ name, description: JSON.stringify({ region: 'r1' }) });
const rule = (tags: string[], name = 'in') => ({
  name,
  direction: 'INBOUND',
  src_port: -1,
  dst_port: 80,
  protocol: 6,
  tags,
});

describe('tag ownership', () => {
  let h: Harness;
  const token: Record<string, string> = {};
  const as = (who: string) => (method: string, url: string, body?: unknown) =>
    h.call(method, url, body, token[who]);
  const issue = async (name: string, role: Role, namespaces: string[]) => {
    token[name] = (
      await h.tokens.issue({ subject: name, scope: { kind: 'api', role, namespaces }, ttlMs: 600_000 })
    ).token;
  };
  let vmB: string;
  const home = mkdtempSync(join(tmpdir(), 'skyway-tags-'));

  before(async () => {
    h = await startHarness({ home });
    await issue('defOp', 'operator', ['default']);
    await issue('defView', 'viewer', ['default']);
    await issue('otherOp', 'operator', ['other']);
    await issue('otherView', 'viewer', ['other']);
    await issue('allOp', 'operator', ['*']);
    const def = as('defOp');
    assert.equal((await def('POST', east, vm('vm-a'))).status, 201);
    vmB = (await def('POST', east, vm('vm-b'))).json.ip;
    assert.equal((await as('otherOp')('POST', otherEast, vm('vm-o'))).status, 201);
    // `web` made with a token scoped to default belongs to default.
    const web = await def('PUT', '/api/v1/tags/web', { child_tags: ['default.east.vm-b'] });
    assert.equal(web.status, 200, JSON.stringify(web.json));
    assert.equal(web.json.namespace, 'default');
    const r = await def('POST', `${east}/vm-a/rules`, rule(['web']));
    assert.deepEqual(r.json.targets, [`${vmB}/32`]);
  });
  after(async () => {
    await h.close();
    rmSync(home, { recursive: true, force: true });
  });

  const targetsOfVmA = async () => (await h.call('GET', `${east}/vm-a/rules`)).json.rules[0].targets;

  test("an operator of another namespace cannot change or delete default's tag", async () => {
    const other = as('otherOp');
    for (const [method, url, body] of [
      ['PUT', '/api/v1/tags/web', { child_tags: ['0.0.0.0/0'] }],
      ['POST', '/api/v1/tags/web/applyMembers', { child_tags: ['0.0.0.0/0'] }],
      ['DELETE', '/api/v1/tags/web/members/default.east.vm-b', undefined],
      ['DELETE', '/api/v1/tags/web', undefined],
    ] as const) {
      const res = await other(method, url, body);
      assert.equal(res.status, 403, `${method} ${url}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error.code, 'PERMISSION_DENIED');
      assert.match(res.json.error.message, /namespace "default"/);
    }
    assert.deepEqual(await targetsOfVmA(), [`${vmB}/32`], "default's rule still permits only vm-b");
  });

  test("an operator of another namespace cannot delete default's leaf tag", async () => {
    const res = await as('otherOp')('DELETE', '/api/v1/tags/default.east.vm-a');
    assert.equal(res.status, 403);
    assert.equal((await h.call('GET', '/api/v1/tags/default.east.vm-a')).status, 200);
  });

  test("a viewer of another namespace neither lists, reads nor resolves default's tags", async () => {
    const view = as('otherView');
    const names = (await view('GET', '/api/v1/tags')).json.tags.map((t: { tag_name: string }) => t.tag_name);
    assert.deepEqual(names, ['other.east.vm-o']);
    for (const t of ['web', 'default.east.vm-a']) {
      assert.equal((await view('GET', `/api/v1/tags/${t}`)).status, 403, t);
      const resolved = await view('POST', `/api/v1/tags/${t}/resolveMembers`);
      assert.equal(resolved.status, 403, t);
      assert.equal(JSON.stringify(resolved.json).includes(vmB), false);
    }
    const own = (await as('defView')('GET', '/api/v1/tags')).json.tags.map(
      (t: { tag_name: string }) => t.tag_name,
    );
    assert.deepEqual(own, ['default.east.vm-a', 'default.east.vm-b', 'web']);
  });

  test("another namespace's rules and tags cannot name default's tags until default shares them", async () => {
    const other = as('otherOp');
    const refused = await other('POST', `${otherEast}/vm-o/rules`, rule(['web']));
    assert.equal(refused.status, 403, JSON.stringify(refused.json));
    assert.equal(refused.json.error.field, 'rule.tags[0]');
    const leaf = await other('POST', `${otherEast}/vm-o/rules`, rule(['default.east.vm-a']));
    assert.equal(leaf.status, 403);
    const wrap = await other('PUT', '/api/v1/tags/peek', { child_tags: ['default.east.vm-a'] });
    assert.equal(wrap.status, 403);
    assert.equal(wrap.json.error.field, 'child_tags[0]');
    assert.equal((await h.call('GET', '/api/v1/tags/peek')).status, 404, 'nothing was made');
    const squat = await other('PUT', '/api/v1/tags/default.east.vm-z', { child_tags: [] });
    assert.equal(squat.status, 400);
    assert.match(squat.json.error.message, /leaf tag of namespace "default"/);

    // Default shares `web` with other: other's rule may name it now, and loses it when unshared.
    const share = await as('defOp')('PUT', '/api/v1/tags/web', {
      child_tags: ['default.east.vm-b'],
      shared_with: ['other'],
    });
    assert.deepEqual(share.json.shared_with, ['other']);
    assert.ok(
      (await as('otherView')('GET', '/api/v1/tags')).json.tags.some(
        (t: { tag_name: string }) => t.tag_name === 'web',
      ),
    );
    const ok = await other('POST', `${otherEast}/vm-o/rules`, rule(['web']));
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.deepEqual(ok.json.targets, [`${vmB}/32`]);
    // Sharing lets other read and name the tag, not change it.
    assert.equal((await other('PUT', '/api/v1/tags/web', { child_tags: ['0.0.0.0/0'] })).status, 403);
    await as('defOp')('PUT', '/api/v1/tags/web', { child_tags: ['default.east.vm-b'], shared_with: [] });
    const after = await h.call('GET', `${otherEast}/vm-o/rules`);
    assert.deepEqual(after.json.rules[0].targets, [], 'a withdrawn share drops out of the rule');
  });

  test("global tags are the admins': an operator scoped to all names a namespace", async () => {
    const all = as('allOp');
    const global = await all('PUT', '/api/v1/tags/corp', { child_tags: ['192.0.2.0/24'] });
    assert.equal(global.status, 403);
    assert.match(global.json.error.message, /admin/);
    const owned = await all('PUT', '/api/v1/tags/corp', { child_tags: ['192.0.2.0/24'], namespace: 'other' });
    assert.equal(owned.status, 200);
    assert.equal(owned.json.namespace, 'other');
    const admin = await h.call('PUT', '/api/v1/tags/everyone', { child_tags: ['198.51.100.0/24'] });
    assert.equal(admin.json.namespace, null);
    // Everyone may read and name a global tag; only admins change it.
    assert.equal((await as('otherView')('GET', '/api/v1/tags/everyone')).status, 200);
    assert.equal(
      (await as('otherOp')('POST', `${otherEast}/vm-o/rules`, rule(['everyone'], 'g'))).status,
      200,
    );
    assert.equal((await as('otherOp')('DELETE', '/api/v1/tags/everyone')).status, 403);
    const moved = await h.call('PUT', '/api/v1/tags/corp', { child_tags: [], namespace: 'default' });
    assert.equal(moved.status, 400);
    assert.equal(moved.json.error.field, 'namespace');
  });

  test('ownership and shares survive a restart', async () => {
    await as('defOp')('PUT', '/api/v1/tags/kept', { child_tags: ['10.9.0.0/16'], shared_with: ['other'] });
    const before = (await h.call('GET', '/api/v1/tags')).json;
    await h.close();
    h = await startHarness({ home });
    assert.deepEqual((await h.call('GET', '/api/v1/tags')).json, before);
    assert.equal((await h.call('GET', '/api/v1/tags/kept')).json.namespace, 'default');
  });
});
