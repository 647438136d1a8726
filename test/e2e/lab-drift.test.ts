// Drift on a real lab cloud: someone changes a VM's firewall behind the
// controller's back. The poller reads the live nftables rules back through the
// plugin, reports what differs, and puts the permit lists back, so exactly the
// flows the rules allow pass again, and nothing else.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LabNames } from '@skyway/plugin-local';
import {
  eventually,
  httpCommand,
  httpGet,
  type LabController,
  runner,
  skipReason,
  startLabController,
  testId,
} from './lab-helpers.js';

const skip = skipReason();
const id = testId();
const cloud = `${id}-east`;
const vmNs = (name: string) => new LabNames(cloud).vm('default', 'r1', name);
const base = `/api/v1/namespaces/default/clouds/${cloud}/resources`;

describe('drift on a lab cloud is found and repaired', { skip, timeout: 180_000 }, () => {
  let lab: LabController | undefined;
  const call: LabController['call'] = (method, url, body) => lab!.call(method, url, body);
  const ips: Record<string, string> = {};
  const reach = (from: string, to: string) => httpGet(vmNs(from), `http://${ips[to]}:8080/`, 1);
  const check = async (repair: boolean) => {
    const r = await call('POST', '/api/v1/drift/check', { repair });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json as { drift: Array<Record<string, unknown>> };
  };

  before(async () => {
    lab = await startLabController(id, ['east']);
    for (const name of ['web', 'lonely', 'client', 'other']) {
      const r = await call('POST', base, {
        name,
        description: { region: 'r1', command: httpCommand(8080, `hello-from-${name}`) },
      });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      ips[name] = r.json.ip;
    }
    const tag = (n: string) => `default.${cloud}.${n}`;
    const rule = (name: string, direction: string, tags: string[]) => ({
      name,
      direction,
      protocol: 6,
      dst_port: 8080,
      tags,
    });
    for (const [vm, r] of [
      ['web', rule('from-client', 'INBOUND', [tag('client')])],
      ['client', rule('to-web', 'OUTBOUND', [tag('web')])],
      ['other', rule('to-all', 'OUTBOUND', [tag('web'), tag('lonely')])],
    ] as const) {
      const res = await call('POST', `${base}/${vm}/rules`, r);
      assert.equal(res.status, 200, JSON.stringify(res.json));
    }
    await eventually('client reaches web', () => reach('client', 'web'));
  });
  after(() => lab?.close());

  test('no drift on a fresh lab, and only the allowed flow passes', async () => {
    assert.deepEqual((await check(true)).drift, []);
    assert.equal(await reach('client', 'web'), 'hello-from-web');
    assert.equal(await reach('other', 'web'), undefined);
    assert.equal(await reach('other', 'lonely'), undefined);
  });

  test('a flushed input chain blocks the allowed flow until the repair puts the rule back', async () => {
    await runner.run('nft', ['flush', 'chain', 'inet', 'skyway', 'input'], { netns: vmNs('web') });
    assert.equal(await reach('client', 'web'), undefined, 'the flushed chain drops everything');
    const found = await check(false);
    assert.deepEqual(
      found.drift.map((d) => [d.resource, d.missing]),
      [['web', ['from-client']]],
    );
    assert.equal(await reach('client', 'web'), undefined, 'report only changes nothing');
    const repaired = await check(true);
    assert.equal(repaired.drift[0]?.repaired, true);
    assert.equal(await reach('client', 'web'), 'hello-from-web');
    assert.equal(await reach('other', 'web'), undefined);
  });

  test('a deleted table (no default deny) is drift even on a VM without rules, and is closed again', async () => {
    for (const vm of ['web', 'lonely'])
      await runner.run('nft', ['delete', 'table', 'inet', 'skyway'], { netns: vmNs(vm) });
    assert.equal(await reach('other', 'web'), 'hello-from-web', 'without its table web is open to all');
    assert.equal(await reach('other', 'lonely'), 'hello-from-lonely');
    const repaired = await check(true);
    const byVm = Object.fromEntries(repaired.drift.map((d) => [d.resource, d]));
    assert.equal(byVm.web?.unfiltered, true);
    assert.deepEqual(byVm.web?.missing, ['from-client']);
    assert.equal(byVm.lonely?.unfiltered, true);
    assert.deepEqual(byVm.lonely?.missing, []);
    assert.equal(await reach('other', 'web'), undefined);
    assert.equal(await reach('other', 'lonely'), undefined);
    assert.equal(await reach('client', 'web'), 'hello-from-web');
    assert.deepEqual((await check(true)).drift, []);
  });

  test('a rule added by hand (no Skyway label) opens a VM: reported, then removed', async () => {
    await runner.run('nft', ['insert', 'rule', 'inet', 'skyway', 'input', 'tcp', 'dport', '8080', 'accept'], {
      netns: vmNs('lonely'),
    });
    assert.equal(await reach('other', 'lonely'), 'hello-from-lonely', 'the rule by hand lets everyone in');
    const found = await check(false);
    assert.deepEqual(
      found.drift.map((d) => [d.resource, (d.deviations as string[]).map((t) => t.replace(/\d+/, 'N'))]),
      [['lonely', ['chain input has a rule Skyway did not write (handle N): tcp dport 8080 accept']]],
    );
    assert.equal(await reach('other', 'lonely'), 'hello-from-lonely', 'report only changes nothing');
    assert.equal((await check(true)).drift[0]?.repaired, true);
    assert.equal(await reach('other', 'lonely'), undefined);
    assert.equal(await reach('client', 'web'), 'hello-from-web');
    assert.deepEqual((await check(true)).drift, []);
  });

  test('a default policy switched to accept opens a VM that still has its table, until the repair', async () => {
    await runner.run('nft', ['add', 'chain', 'inet', 'skyway', 'input', '{ policy accept; }'], {
      netns: vmNs('web'),
    });
    assert.equal(await reach('other', 'web'), 'hello-from-web', 'policy accept lets everyone in');
    const [d] = (await check(true)).drift;
    assert.deepEqual(
      [d?.resource, d?.unfiltered, d?.deviations, d?.missing],
      ['web', true, ['chain input has policy accept, not drop'], []],
    );
    assert.equal(await reach('other', 'web'), undefined);
    assert.equal(await reach('client', 'web'), 'hello-from-web');
  });

  test('a stray rule someone added is removed', async () => {
    // Labelled the way the plugin labels its own rules, so the read-back sees it.
    await runner.run(
      'nft',
      ['add', 'rule', 'inet', 'skyway', 'input', 'tcp', 'dport', '8080', 'accept', 'comment', '"n=stray;t="'],
      { netns: vmNs('lonely') },
    );
    assert.equal(await reach('other', 'lonely'), 'hello-from-lonely');
    const repaired = await check(true);
    assert.deepEqual(
      repaired.drift.map((d) => [d.resource, d.extra]),
      [['lonely', ['stray']]],
    );
    assert.equal(await reach('other', 'lonely'), undefined);
  });
});
