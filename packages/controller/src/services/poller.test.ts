// Drift: a cloud changed behind the controller's back is found by the poller,
// reported as events, and repaired so the cloud matches the store again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inProcess } from '@skyway/plugin-sdk';
import { Direction } from '@skyway/proto/plugin';
import { type Harness, startHarness } from '../testing/harness.js';

const vm = '/api/v1/namespaces/default/clouds/east/resources';

describe('poller', () => {
  let h: Harness;
  let uri: string;
  // The cloud itself, reached past the controller.
  const fake = () => inProcess(h.fakes.get('default/east')!);
  const cloudRules = async () =>
    (await fake().getPermitList({ namespace: 'default', resource: uri })).rules
      .map((r) => `${r.name}:${r.dstPort}:${r.targets.join(',')}`)
      .sort();

  before(async () => {
    h = await startHarness();
    const created = await h.call('POST', vm, { name: 'vm-a', description: '{}' });
    uri = created.json.uri;
    await h.call('POST', `${vm}/vm-a/applyRules`, [
      { name: 'ssh', direction: 'INBOUND', protocol: 6, dst_port: 22, tags: ['10.1.0.0/16'] },
      { name: 'web', direction: 'INBOUND', protocol: 6, dst_port: 80, tags: ['10.2.0.0/16'] },
    ]);
    await h.call('POST', vm, { name: 'vm-b', description: '{}' });
  });
  after(() => h.close());

  it('finds nothing when the clouds match the store', async () => {
    const res = await h.call('POST', '/api/v1/drift/check', {});
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.drift, []);
    assert.equal(res.json.clouds, 3);
    assert.equal(res.json.resources, 2);
  });

  it('reports a lost, a changed and a stray rule without touching the cloud when asked only to report', async () => {
    const target = { namespace: 'default', resource: uri };
    await fake().deletePermitListRules({ ...target, ruleNames: ['ssh'] });
    const stray = { direction: Direction.INBOUND, srcPort: -1, protocol: 6, tags: [] };
    await fake().addPermitListRules({
      ...target,
      rules: [
        { ...stray, name: 'web', dstPort: 8080, targets: ['10.2.0.0/16'] },
        { ...stray, name: 'telnet', dstPort: 23, targets: ['0.0.0.0/0'] },
      ],
    });
    const before = await cloudRules();
    const res = await h.call('POST', '/api/v1/drift/check', { repair: false });
    assert.deepEqual(res.json.drift, [
      {
        kind: 'rules',
        namespace: 'default',
        cloud: 'east',
        resource: 'vm-a',
        missing: ['ssh'],
        extra: ['telnet'],
        changed: ['web'],
        repaired: false,
      },
    ]);
    assert.deepEqual(await cloudRules(), before);
    assert.equal((await h.call('GET', '/api/v1/drift')).json.last.drift.length, 1);
  });

  it('repairs the permit list and publishes drift events', async () => {
    const res = await h.call('POST', '/api/v1/drift/check', {});
    assert.equal(res.json.drift[0].repaired, true);
    assert.deepEqual(await cloudRules(), ['ssh:22:10.1.0.0/16', 'web:80:10.2.0.0/16']);
    const again = await h.call('POST', '/api/v1/drift/check', {});
    assert.deepEqual(again.json.drift, [], 'a second check finds the cloud as the store says');
    const types = (await h.services.events.since(0, 10_000)).map((e) => e.type);
    assert.ok(types.includes('drift.detected') && types.includes('drift.repaired'));
  });

  it('reports what no rule accounts for and re-applies the whole permit list, even an empty one', async () => {
    const b = (await h.call('GET', `${vm}/vm-b`)).json.uri as string;
    h.fakes.get('default/east')!.deviate('default', b, 'input policy accept');
    const res = await h.call('POST', '/api/v1/drift/check', {});
    assert.deepEqual(
      res.json.drift.map((d: Record<string, unknown>) => [d.resource, d.deviations, d.repaired]),
      [['vm-b', ['input policy accept'], true]],
    );
    assert.deepEqual((await fake().getPermitList({ namespace: 'default', resource: b })).deviations, []);
    assert.deepEqual((await h.call('POST', '/api/v1/drift/check', {})).json.drift, []);
  });

  it('reports a resource gone from its cloud and one the store does not know', async () => {
    const b = (await h.call('GET', `${vm}/vm-b`)).json;
    await fake().deleteResource({ deployment: { id: 'east', namespace: 'default' }, resource: b.uri });
    await fake().createResource({
      deployment: { id: 'east', namespace: 'default' },
      name: 'rogue',
      description: new TextEncoder().encode('{}'),
    });
    const res = await h.call('POST', '/api/v1/drift/check', {});
    const kinds = res.json.drift
      .map((d: { kind: string; resource: string }) => `${d.kind}:${d.resource}`)
      .sort();
    assert.equal(kinds.length, 2);
    assert.equal(kinds[0], 'resource_missing:vm-b');
    assert.match(kinds[1], /^resource_unmanaged:.*rogue/);
  });

  it('needs an operator token for all namespaces to run a check', async () => {
    const viewer = await h.call('POST', '/api/v1/tokens', {
      subject: 'v',
      role: 'viewer',
      namespaces: ['*'],
    });
    const denied = await h.call('POST', '/api/v1/drift/check', {}, viewer.json.token);
    assert.equal(denied.status, 403);
    const scoped = await h.call('POST', '/api/v1/tokens', {
      subject: 'o',
      role: 'operator',
      namespaces: ['default'],
    });
    const refused = await h.call('POST', '/api/v1/drift/check', {}, scoped.json.token);
    assert.equal(refused.status, 403);
    assert.match(refused.json.error.message, /every namespace/);
    const bad = await h.call('POST', '/api/v1/drift/check', { repair: 'yes' });
    assert.equal(bad.status, 400);
  });
});
