import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, startHarness } from '../testing/harness.js';

const base = '/api/v1/namespaces/default/clouds/east/resources';
const vm = (name: string) => ({ name, description: JSON.stringify({ region: 'r1' }) });
const web = { name: 'web-in', direction: 'INBOUND', src_port: -1, dst_port: 80, protocol: 6, tags: ['web'] };

describe('REST API', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  test('ping needs no token; everything else does', async () => {
    assert.equal((await h.app.inject({ url: '/ping' })).statusCode, 200);
    const res = await h.app.inject({ url: '/api/v1/tags' });
    assert.equal(res.statusCode, 401);
    assert.equal(JSON.parse(res.body).error.code, 'UNAUTHENTICATED');
  });

  test('resources get a leaf tag; rules resolve tags to targets', async () => {
    const a = await h.call('POST', base, vm('vm-a'));
    assert.equal(a.status, 201, JSON.stringify(a.json));
    assert.equal(a.json.tag, 'default.east.vm-a');
    const b = await h.call('PUT', `${base}/vm-b`, vm('vm-b'));
    assert.equal(b.status, 201);
    assert.equal(
      (await h.call('POST', '/api/v1/tags/web/applyMembers', { child_tags: ['default.east.vm-b'] })).status,
      200,
    );
    const added = await h.call('POST', `${base}/vm-a/rules`, { ...web, targets: ['6.6.6.6/32'] });
    assert.equal(added.status, 200, JSON.stringify(added.json));
    assert.deepEqual(added.json.targets, [`${b.json.ip}/32`], 'user targets are replaced by resolved ones');
    const got = await h.call('GET', `${base}/vm-a/rules`);
    assert.equal(got.json.rules[0].name, 'web-in');
    assert.equal(got.json.rules[0].direction, 'INBOUND');
  });

  test('changing a tag re-resolves the rules that reference it', async () => {
    const c = await h.call('POST', base, vm('vm-c'));
    await h.call('POST', '/api/v1/tags/web/applyMembers', { child_tags: ['default.east.vm-c'] });
    const got = await h.call('GET', `${base}/vm-a/rules`);
    assert.equal(got.json.rules[0].targets.length, 2);
    assert.ok(got.json.rules[0].targets.includes(`${c.json.ip}/32`));
    await h.call('DELETE', '/api/v1/tags/web/members/default.east.vm-c');
    assert.equal((await h.call('GET', `${base}/vm-a/rules`)).json.rules[0].targets.length, 1);
  });

  test('a rule whose tag spans clouds connects them once', async () => {
    const w = await h.call('POST', '/api/v1/namespaces/default/clouds/west/resources', vm('vm-w'));
    assert.equal(w.status, 201);
    await h.call('POST', `${base}/vm-a/rules`, { ...web, name: 'west-in', tags: ['default.west.vm-w'] });
    await h.call('POST', `${base}/vm-b/rules`, { ...web, name: 'west-in', tags: ['default.west.vm-w'] });
    const conns = await h.call('GET', '/api/v1/connections');
    assert.equal(conns.json.connections.length, 1);
    const c = conns.json.connections[0];
    assert.equal(c.status, 'up');
    assert.notEqual(c.detail.east.asn, c.detail.west.asn);
    assert.equal(JSON.stringify(conns.json).includes('shared'), false, 'no shared key in the API');
  });

  test('bad input gets a stable code naming the field and changes nothing', async () => {
    const cases: Array<[string, string, unknown, number, string, string?]> = [
      ['POST', `${base}/vm-a/rules`, { ...web, dst_port: '80' }, 400, 'VALIDATION_FAILED', 'dst_port'],
      ['POST', `${base}/vm-a/rules`, { ...web, dst_port: 70000 }, 400, 'INVALID_ARGUMENT', 'rule.dst_port'],
      ['POST', `${base}/vm-a/rules`, { ...web, protocol: 300 }, 400, 'INVALID_ARGUMENT', 'rule.protocol'],
      [
        'POST',
        `${base}/vm-a/rules`,
        { ...web, direction: 'SIDEWAYS' },
        400,
        'INVALID_ARGUMENT',
        'rule.direction',
      ],
      ['POST', `${base}/vm-a/rules`, { ...web, colour: 'red' }, 400, 'VALIDATION_FAILED', 'colour'],
      ['POST', `${base}/vm-a/rules`, { ...web, tags: ['10.0.0.1/8'] }, 400, 'INVALID_CIDR'],
      ['POST', `${base}/vm-a/rules`, { ...web, tags: ['nope'] }, 404, 'NOT_FOUND'],
      [
        'POST',
        `${base}/vm-a/applyRules`,
        [web, { ...web, name: 'Bad Name' }],
        400,
        'INVALID_ARGUMENT',
        'rules[1].name',
      ],
      ['POST', '/api/v1/namespaces/default/clouds/nowhere/resources', vm('x'), 404, 'UNKNOWN_CLOUD'],
      ['POST', '/api/v1/namespaces/nope/clouds/east/resources', vm('x'), 404, 'UNKNOWN_NAMESPACE'],
      [
        'POST',
        base,
        { name: 'x', description: '{"subnet": "s1"}' },
        400,
        'NETWORKING_NOT_ALLOWED',
        'description.subnet',
      ],
      ['POST', base, { name: 'x', description: 'not json' }, 400, 'INVALID_ARGUMENT', 'description'],
      ['POST', base, vm('vm-a'), 409, 'ALREADY_EXISTS'],
      ['POST', '/api/v1/tags/loop1/applyMembers', { child_tags: ['loop1'] }, 400, 'TAG_CYCLE'],
      ['POST', '/api/v1/tags/web/applyMembers', { child_tags: ['web2'] }, 404, 'NOT_FOUND'],
      ['POST', '/api/v1/tags/web/applyMembers', { child_tags: ['300.1.1.1'] }, 400, 'INVALID_CIDR'],
      [
        'POST',
        '/api/v1/tokens',
        { subject: 'x', role: 'god', namespaces: ['*'] },
        400,
        'INVALID_ARGUMENT',
        'role',
      ],
      ['GET', '/api/v1/tags/missing', undefined, 404, 'NOT_FOUND'],
    ];
    const before = await h.call('GET', `${base}/vm-a/rules`);
    for (const [method, url, body, status, code, field] of cases) {
      const res = await h.call(method, url, body);
      const label = `${method} ${url} ${JSON.stringify(body)} -> ${JSON.stringify(res.json)}`;
      assert.equal(res.status, status, label);
      assert.equal(res.json.error.code, code, label);
      if (field) assert.equal(res.json.error.field, field, label);
      assert.ok(res.json.error.message.length > 10, label);
    }
    assert.deepEqual((await h.call('GET', `${base}/vm-a/rules`)).json, before.json);
  });

  test('a cycle through existing tags is refused', async () => {
    await h.call('PUT', '/api/v1/tags/ta', { child_tags: ['10.1.0.0/16'] });
    await h.call('PUT', '/api/v1/tags/tb', { child_tags: ['ta'] });
    const res = await h.call('PUT', '/api/v1/tags/ta', { child_tags: ['tb'] });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, 'TAG_CYCLE');
    assert.match(res.json.error.message, /ta/);
  });

  test('tokens: scoped, expired and revoked tokens are refused', async () => {
    const viewer = await h.call('POST', '/api/v1/tokens', {
      subject: 'v',
      role: 'viewer',
      namespaces: ['default'],
      ttl: '1h',
    });
    assert.equal(viewer.status, 201);
    assert.equal((await h.call('GET', `${base}/vm-a/rules`, undefined, viewer.json.token)).status, 200);
    const write = await h.call('POST', `${base}/vm-a/rules`, web, viewer.json.token);
    assert.equal(write.status, 403);
    assert.equal(write.json.error.code, 'PERMISSION_DENIED');
    const other = await h.call('POST', '/api/v1/tokens', {
      subject: 'o',
      role: 'operator',
      namespaces: ['other'],
      ttl: '1h',
    });
    const scoped = await h.call('GET', `${base}/vm-a/rules`, undefined, other.json.token);
    assert.equal(scoped.status, 403);
    assert.match(scoped.json.error.message, /namespace "default"/);
    await h.call('DELETE', `/api/v1/tokens/${viewer.json.id}`);
    const revoked = await h.call('GET', `${base}/vm-a/rules`, undefined, viewer.json.token);
    assert.equal(revoked.status, 401);
    assert.match(revoked.json.error.message, /revoked/);
    const { token: expired } = await h.tokens.issue({
      subject: 'e',
      scope: { kind: 'api', role: 'admin', namespaces: ['*'] },
      ttlMs: 1000,
      issuedAt: Date.now() - 60_000,
    });
    const exp = await h.call('GET', '/api/v1/tags', undefined, expired);
    assert.equal(exp.status, 401);
    assert.match(exp.json.error.message, /expired/);
    const { token: future } = await h.tokens.issue({
      subject: 'f',
      scope: { kind: 'api', role: 'admin', namespaces: ['*'] },
      ttlMs: 3_600_000,
      issuedAt: Date.now() + 10 * 60_000,
    });
    const fut = await h.call('GET', '/api/v1/tags', undefined, future);
    assert.equal(fut.json.error.code, 'CLOCK_SKEW');
    assert.match(fut.json.error.message, /5 minutes/);
  });

  test('deleting a resource removes its rules, leaf tag and memberships', async () => {
    const res = await h.call('DELETE', `${base}/vm-b`);
    assert.equal(res.status, 200);
    assert.equal((await h.call('GET', '/api/v1/tags/default.east.vm-b')).status, 404);
    assert.equal(
      (await h.call('GET', '/api/v1/tags/web')).json.child_tags.includes('default.east.vm-b'),
      false,
    );
    assert.equal((await h.call('GET', `${base}/vm-b/rules`)).status, 404);
    const a = await h.call('GET', `${base}/vm-a/rules`);
    assert.deepEqual(a.json.rules.find((r: { name: string }) => r.name === 'web-in').targets, []);
  });

  test('events were published for the changes', async () => {
    const events = await h.services.events.since(0);
    const types = new Set(events.map((e) => e.type));
    for (const t of [
      'resource.created',
      'rules.applied',
      'tag.updated',
      'connection.created',
      'resource.deleted',
    ]) {
      assert.ok(types.has(t), t);
    }
  });
});
