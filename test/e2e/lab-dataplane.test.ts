// Real-namespace smoke test of the dataplane drivers: nftables default drop
// and an allow rule; two gateways with an IKEv2 PSK tunnel over kernel-libipsec
// and eBGP over it exchanging prefixes; ESP (UDP 4500) counters grow.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { after, describe, test } from 'node:test';
import { Bird, isAlive, Links, Netns, Nftables, Strongswan, sleep, teardown } from '@skyway/dataplane';
import {
  eventually,
  hasPing,
  httpGet,
  httpServer,
  ping,
  runner,
  skipReason,
  stopAll,
  testId,
} from './lab-helpers.js';

const skip = skipReason();
const id = testId();
const prefix = `sky.${id}.`;
const ns = (n: string) => `${prefix}${n}`;
const netns = new Netns(runner);
const links = new Links(runner);
const nft = new Nftables(runner);

describe('dataplane on real namespaces', { skip, timeout: 120_000 }, () => {
  after(async () => {
    await stopAll();
    await teardown(runner, {
      prefix,
      dirs: ['a', 'b', 'c', 'd', 'inet', 'crash'].map((n) => `/run/skyway/${ns(n)}`),
    });
  });

  test('teardown after a crash: namespaces, processes in them, orphans from pid files, files', async () => {
    const crash = ns('crash');
    await netns.create(crash);
    const dir = `/run/skyway/${crash}`;
    await mkdir(dir, { recursive: true });
    // one process found through the namespace, one whose namespace is already gone (pid file only)
    const inNs = await runner.spawnDetached('sleep', ['300'], { netns: crash });
    const orphanNs = ns('orphan');
    await netns.create(orphanNs);
    const orphan = await runner.spawnDetached('sleep', ['301'], { netns: orphanNs });
    await writeFile(`${dir}/orphan.pid`, `${orphan}\n`);
    await runner.run('ip', ['netns', 'del', orphanNs]);
    await sleep(200);
    assert.ok(isAlive(inNs) && isAlive(orphan));
    const report = await teardown(runner, { prefix: `${prefix}crash`, dirs: [dir] });
    assert.deepEqual(report.netns, [crash]);
    await eventually('both processes gone', async () => !isAlive(inNs) && !isAlive(orphan), 5000);
    assert.equal(existsSync(dir), false);
    assert.ok(!(await netns.list()).includes(crash));
  });

  test('nftables: default drop blocks a TCP connect, an allow rule passes exactly it', async () => {
    await netns.create(ns('a'));
    await netns.create(ns('b'));
    await links.addVeth(ns('a'), 'skyeth0', ns('b'), 'skyeth0');
    await links.addAddress(ns('a'), 'skyeth0', '10.77.0.1/24');
    await links.addAddress(ns('b'), 'skyeth0', '10.77.0.2/24');
    await httpServer(ns('b'), 8080, 'hello-b');
    assert.equal(await httpGet(ns('a'), 'http://10.77.0.2:8080/'), 'hello-b');

    await nft.apply(ns('b'), []);
    assert.equal(await httpGet(ns('a'), 'http://10.77.0.2:8080/', 1), undefined);

    await nft.apply(ns('b'), [
      {
        name: 'web',
        direction: 'in',
        targets: ['10.77.0.1'],
        protocol: 6,
        srcPort: -1,
        dstPort: 8080,
        tags: ['a'],
      },
    ]);
    assert.equal(await httpGet(ns('a'), 'http://10.77.0.2:8080/'), 'hello-b');
    if (hasPing()) assert.equal(await ping(ns('a'), '10.77.0.2'), false, 'ICMP is still dropped');
    const live = (await nft.read(ns('b')))!;
    assert.deepEqual([live.deviations, live.unfiltered], [[], false], 'the table reads back as rendered');
    const [rule] = live.rules;
    assert.equal(rule!.name, 'web');
    assert.deepEqual(rule!.tags, ['a']);
    assert.deepEqual(rule!.targets, ['10.77.0.1']);
    assert.equal(rule!.dstPort, 8080);
    assert.ok(rule!.packets >= 1, 'the rule counted the connection');

    // Changed by hand: what no rule accounts for reads back as deviations.
    const nftIn = (...args: string[]) => runner.run('nft', args, { netns: ns('b') });
    const replies = 'ct state established,related accept';
    const listed = (await nftIn('-a', 'list', 'chain', 'inet', 'skyway', 'output')).stdout;
    const handle = new RegExp(`${replies} # handle (\\d+)`).exec(listed)![1]!;
    await nftIn('insert', 'rule', 'inet', 'skyway', 'input', 'tcp', 'dport', '22', 'accept');
    await nftIn('delete', 'rule', 'inet', 'skyway', 'output', 'handle', handle);
    await nftIn('add', 'chain', 'inet', 'skyway', 'output', '{ policy accept; }');
    const changed = (await nft.read(ns('b')))!;
    assert.equal(changed.unfiltered, true);
    assert.deepEqual(
      changed.deviations.map((d) => d.replace(/handle \d+/, 'handle N')),
      [
        'chain output has policy accept, not drop',
        'chain input has a rule Skyway did not write (handle N): tcp dport 22 accept',
        `chain output lost its base rule: ${replies}`,
      ],
    );
  });

  test('IKEv2 PSK tunnel with kernel-libipsec, eBGP over it, ESP counters grow', async () => {
    const inet = ns('inet');
    await netns.create(inet);
    await links.addBridge(inet, 'skyinet0');
    const gw = {
      c: { pub: '198.18.77.1', peer: '169.254.77.1', vpc: '10.78.1.1/24', asn: 65101 },
      d: { pub: '198.18.77.2', peer: '169.254.77.2', vpc: '10.78.2.1/24', asn: 65102 },
    };
    const sw = new Strongswan(runner);
    const bird = new Bird(runner);
    for (const [n, g] of Object.entries(gw)) {
      await netns.create(ns(n));
      await netns.enableForwarding(ns(n));
      await links.addVeth(inet, `skyi-${n}`, ns(n), 'skyeth0');
      await links.setMaster(inet, `skyi-${n}`, 'skyinet0');
      await links.addAddress(ns(n), 'skyeth0', `${g.pub}/15`);
      // a stand-in VPC: one end of a veth pair inside the gateway
      await links.addVeth(ns(n), 'skyvpc0', ns(n), 'skyvpc1');
      await links.addAddress(ns(n), 'skyvpc0', g.vpc);
    }
    for (const [n, g] of Object.entries(gw)) {
      const o = n === 'c' ? gw.d : gw.c;
      await sw.start(ns(n));
      await sw.load(ns(n), [{ name: 'peer', localAddr: g.pub, remoteAddr: o.pub, psk: `psk-${id}-secret` }]);
      await links.addAddress(ns(n), 'ipsec0', `${g.peer}/30`);
      await bird.apply(ns(n), {
        routerId: g.peer,
        exportPrefixes: [g.vpc.replace(/\.1\/24$/, '.0/24')],
        neighbors: [{ name: 'peer', localAs: g.asn, peerIp: o.peer, peerAs: o.asn }],
      });
    }
    assert.ok(await sw.initiate(ns('c'), 'peer'), 'IKE initiation succeeds');
    await eventually('BGP established', async () =>
      (await bird.protocols(ns('c'))).some((p) => p.name === 'peer' && p.info.startsWith('Established')),
    );
    const learned = await eventually('prefix learned via BGP', async () =>
      (await bird.routes(ns('c'))).find((r) => r.prefix === '10.78.2.0/24' && r.proto === 'peer'),
    );
    assert.equal(learned.via, '169.254.77.2');
    const kernel = await links.routes(ns('c'));
    assert.ok(kernel.some((r) => r.dst === '10.78.2.0/24' && r.dev === 'ipsec0' && r.protocol === 'bird'));

    const before = (await sw.listSas(ns('c')))[0]!;
    assert.equal(before.state, 'ESTABLISHED');
    assert.equal(before.remotePort, 4500);
    assert.ok(before.children[0]!.encap);
    await httpServer(ns('d'), 8081, 'x'.repeat(20000));
    const body = await httpGet(ns('c'), 'http://10.78.2.1:8081/');
    assert.equal(body?.length, 20000);
    const afterSa = (await sw.listSas(ns('c')))[0]!;
    assert.ok(
      afterSa.children[0]!.bytesIn >= before.children[0]!.bytesIn + 20000,
      'ESP bytes in grew by the payload',
    );
    if (hasPing()) assert.ok(await ping(ns('c'), '10.78.2.1', { from: '10.78.1.1', count: 3 }));
    await sw.stop(ns('c'));
    await bird.stop(ns('c'));
    assert.equal(await sw.pid(ns('c')), undefined);
  });
});
