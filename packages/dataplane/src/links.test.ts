import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Links, parseIpRoutes, parseLinks } from './links.js';
import { Netns, parseNetnsList } from './netns.js';
import { FakeRunner } from './runner.js';

test('parses ip -j addr and route output', () => {
  const links = parseLinks(
    JSON.stringify([
      {
        ifname: 'lo',
        flags: ['LOOPBACK', 'UP'],
        addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }],
      },
      {
        ifname: 'skybr0',
        flags: ['UP'],
        linkinfo: { info_kind: 'bridge' },
        addr_info: [
          { family: 'inet', local: '10.1.0.1', prefixlen: 16 },
          { family: 'inet6', local: 'fe80::1', prefixlen: 64 },
        ],
      },
      { ifname: 'skyv1', flags: ['BROADCAST'], master: 'skybr0', linkinfo: { info_kind: 'veth' } },
    ]),
  );
  assert.deepEqual(links[1], {
    ifname: 'skybr0',
    kind: 'bridge',
    master: undefined,
    up: true,
    mac: undefined,
    addresses: ['10.1.0.1/16'],
  });
  assert.equal(links[2]!.master, 'skybr0');
  assert.equal(links[2]!.up, false);
  assert.deepEqual(parseIpRoutes('[{"dst":"default","gateway":"10.1.0.1","dev":"skyeth0","flags":[]}]'), [
    { dst: 'default', gateway: '10.1.0.1', dev: 'skyeth0', protocol: undefined, table: undefined },
  ]);
  assert.deepEqual(parseNetnsList('[{"name":"sky.a","id":0},{"name":"other"}]'), ['sky.a', 'other']);
  assert.deepEqual(parseNetnsList(''), []);
});

test('veth ends are created directly in their namespaces; names are guarded', async () => {
  const fake = new FakeRunner().on('link show dev skyv1', { code: 1 });
  const links = new Links(fake);
  await links.addVeth('sky.r', 'skyv1', 'sky.vm', 'skyeth0');
  assert.equal(
    fake.lines[1],
    'ip netns exec sky.r ip link add skyv1 type veth peer name skyeth0 netns sky.vm',
  );
  await assert.rejects(links.addVeth('sky.r', 'eth0', 'sky.vm', 'skyeth0'), /must start with "sky"/);
  await assert.rejects(links.addVeth('sky.r', 'skyaveryveryverylong', 'sky.vm', 'skyeth0'), /longer than 15/);
  await assert.rejects(links.addAddress('host', 'skyx', '10.0.0.1/24'), /netns name/);
});

test('netns create is idempotent and brings loopback up', async () => {
  const fake = new FakeRunner().on('ip -j netns list', { stdout: '[{"name":"sky.a"}]' });
  const ns = new Netns(fake);
  await ns.create('sky.a');
  assert.deepEqual(fake.lines, ['ip -j netns list', 'ip netns exec sky.a ip link set lo up']);
  await ns.create('sky.b');
  assert.ok(fake.lines.includes('ip netns add sky.b'));
  await assert.rejects(ns.create('foo'), /must start with "sky"/);
});
