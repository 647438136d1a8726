// The lab cloud on real namespaces, one cloud: default deny, rules that open
// exactly the intended flows (TCP and ICMP) and close again, INBOUND-only,
// cross-VPC peering, restart safety, and destroyLab.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { teardown } from '@skyway/dataplane';
import { createLocalPlugin, type LocalPlugin } from '@skyway/plugin-local';
import { createFakeController, inProcess, inProcessController, type PluginClient } from '@skyway/plugin-sdk';
import { Direction } from '@skyway/proto/plugin';
import {
  description,
  eventually,
  hasPing,
  httpCommand,
  httpGet,
  ping,
  runner,
  skipReason,
  testId,
} from './lab-helpers.js';

const skip = skipReason();
const id = testId();
const cloud = `${id}-lab`;
const stateDir = `/tmp/skyway-${id}`;
const deployment = { id: 'lab', namespace: 'default' };

describe('lab cloud on real namespaces', { skip, timeout: 180_000 }, () => {
  let plugin: LocalPlugin;
  let client: PluginClient;
  const vm: Record<string, { name: string; uri: string; ip: string }> = {};
  const vmNs = (n: string) => `sky.${cloud}.v.default.${n === 'c' ? 'r2' : 'r1'}.${n}`;
  const controller = inProcessController(createFakeController());

  before(async () => {
    plugin = createLocalPlugin({
      cloud,
      controller,
      stateDir,
      runner,
      internet: `sky.${id}.inet`,
      allowCommands: true,
    });
    client = inProcess(plugin);
  });
  after(async () => {
    await plugin?.destroyLab().catch(() => {});
    await teardown(runner, { prefix: `sky.${id}`, dirs: [stateDir] });
  });

  const rule = (name: string, direction: Direction, target: string, protocol: number, dstPort = -1) => ({
    name,
    targets: [`${target}/32`],
    direction,
    srcPort: -1,
    dstPort,
    protocol,
    tags: [`tag-${name}`],
  });
  const add = (n: string, rules: ReturnType<typeof rule>[]) =>
    client.addPermitListRules({ namespace: 'default', resource: vm[n]!.uri, rules });
  const del = (n: string, ruleNames: string[]) =>
    client.deletePermitListRules({ namespace: 'default', resource: vm[n]!.uri, ruleNames });

  test('creates VMs with a command, in a VPC from FindUnusedAddressSpaces', async () => {
    for (const [n, region, cmd] of [
      ['a', 'r1', httpCommand(8080, 'from-a')],
      ['b', 'r1', httpCommand(8080, 'from-b')],
      ['c', 'r2', undefined],
    ] as const) {
      vm[n] = await client.createResource({
        deployment,
        name: n,
        description: description({ region, command: cmd }),
      });
    }
    assert.equal(vm.a!.uri, `lab://${cloud}/default/r1/a`);
    assert.match(vm.a!.ip, /^10\.0\.0\.\d+$/);
    assert.match(vm.c!.ip, /^10\.1\.0\.\d+$/);
    const spaces = await client.getUsedAddressSpaces({ deployments: [deployment] });
    assert.deepEqual(spaces.addressSpaceMappings[0]!.addressSpaces.sort(), ['10.0.0.0/16', '10.1.0.0/16']);
    const list = await client.listResources({ deployments: [deployment] });
    assert.deepEqual(list.resources.map((r) => `${r.name}:${r.state}`).sort(), [
      'a:running',
      'b:running',
      'c:running',
    ]);
  });

  test('refuses networking details, naming the key', async () => {
    await assert.rejects(
      client.createResource({
        deployment,
        name: 'x',
        description: description({ region: 'r1', network_interfaces: [] }),
      }),
      /network_interfaces/,
    );
  });

  test('default deny: nothing gets through', async () => {
    assert.deepEqual((await client.getPermitList({ namespace: 'default', resource: vm.a!.uri })).rules, []);
    assert.equal(await httpGet(vmNs('b'), `http://${vm.a!.ip}:8080/`, 1), undefined);
    if (hasPing()) assert.equal(await ping(vmNs('b'), vm.a!.ip), false);
  });

  test('a rule pair opens exactly TCP 8080 and ICMP b -> a; deleting closes it', async () => {
    await add('a', [
      rule('web-in', Direction.INBOUND, vm.b!.ip, 6, 8080),
      rule('ping-in', Direction.INBOUND, vm.b!.ip, 1),
    ]);
    await add('b', [
      rule('web-out', Direction.OUTBOUND, vm.a!.ip, 6, 8080),
      rule('ping-out', Direction.OUTBOUND, vm.a!.ip, 1),
    ]);
    assert.equal(await httpGet(vmNs('b'), `http://${vm.a!.ip}:8080/`), 'from-a');
    if (hasPing()) {
      assert.equal(await ping(vmNs('b'), vm.a!.ip), true, 'b pings a');
      assert.equal(await ping(vmNs('a'), vm.b!.ip), false, 'a cannot ping b');
    }
    assert.equal(await httpGet(vmNs('a'), `http://${vm.b!.ip}:8080/`, 1), undefined, 'a cannot open b:8080');
    const rules = (await client.getPermitList({ namespace: 'default', resource: vm.a!.uri })).rules;
    assert.deepEqual(
      rules.map((r) => [r.name, r.direction, r.protocol, r.dstPort, r.targets.join(), r.tags.join()]).sort(),
      [
        ['ping-in', Direction.INBOUND, 1, -1, `${vm.b!.ip}/32`, 'tag-ping-in'],
        ['web-in', Direction.INBOUND, 6, 8080, `${vm.b!.ip}/32`, 'tag-web-in'],
      ],
    );
    await del('a', ['web-in']);
    assert.equal(await httpGet(vmNs('b'), `http://${vm.a!.ip}:8080/`, 1), undefined, 'closed again');
    if (hasPing()) assert.equal(await ping(vmNs('b'), vm.a!.ip), true, 'ICMP still open');
    await del('a', ['ping-in']);
    await del('b', ['web-out', 'ping-out']);
  });

  test('tag lists longer than an nftables comment still round-trip', async () => {
    const tags = Array.from({ length: 12 }, (_, i) => `team-${i}-${'x'.repeat(20)}`);
    await add('a', [{ ...rule('many-tags', Direction.INBOUND, vm.b!.ip, 6, 9999), tags }]);
    const got = (await client.getPermitList({ namespace: 'default', resource: vm.a!.uri })).rules;
    assert.deepEqual(got.find((r) => r.name === 'many-tags')?.tags, tags);
    await del('a', ['many-tags']);
  });

  test('INBOUND-only does not allow new outbound connections', async () => {
    // b accepts anything from a; only a's own firewall decides
    await add('b', [{ ...rule('all-from-a', Direction.INBOUND, vm.a!.ip, -1), targets: [vm.a!.ip] }]);
    await add('a', [rule('in-from-b', Direction.INBOUND, vm.b!.ip, -1)]);
    assert.equal(await httpGet(vmNs('a'), `http://${vm.b!.ip}:8080/`, 1), undefined);
    await add('a', [rule('out-to-b', Direction.OUTBOUND, vm.b!.ip, 6, 8080)]);
    assert.equal(await httpGet(vmNs('a'), `http://${vm.b!.ip}:8080/`), 'from-b');
    await del('a', ['in-from-b', 'out-to-b']);
    await del('b', ['all-from-a']);
  });

  test('another VPC of the same cloud: a rule peers the routers', async () => {
    const routerA = `sky.${cloud}.r.default.r1`;
    const before = await runner.run('ip', ['-j', 'route'], { netns: routerA });
    assert.ok(!before.stdout.includes('10.1.0.0/16'), 'not peered yet');
    await add('a', [rule('from-c', Direction.INBOUND, vm.c!.ip, 6, 8080)]);
    await add('c', [rule('to-a', Direction.OUTBOUND, vm.a!.ip, 6, 8080)]);
    assert.equal(await httpGet(vmNs('c'), `http://${vm.a!.ip}:8080/`), 'from-a');
    assert.equal(await httpGet(vmNs('c'), `http://${vm.b!.ip}:8080/`, 1), undefined, 'b did not allow c');
  });

  test('a restarted plugin sees the same state and changes nothing', async () => {
    const rulesetBefore = (await runner.run('nft', ['-j', 'list', 'ruleset'], { netns: vmNs('a') })).stdout;
    const again = inProcess(
      createLocalPlugin({
        cloud,
        controller,
        stateDir,
        runner,
        internet: `sky.${id}.inet`,
        allowCommands: true,
      }),
    );
    const list = await again.listResources({ deployments: [deployment] });
    assert.equal(list.resources.length, 3);
    const rules = (await again.getPermitList({ namespace: 'default', resource: vm.a!.uri })).rules;
    assert.deepEqual(
      rules.map((r) => r.name),
      ['from-c'],
    );
    const rulesetAfter = (await runner.run('nft', ['-j', 'list', 'ruleset'], { netns: vmNs('a') })).stdout;
    assert.equal(rulesetAfter, rulesetBefore);
    assert.equal(await httpGet(vmNs('c'), `http://${vm.a!.ip}:8080/`), 'from-a', 'the VM command still runs');
  });

  test('DeleteResource kills the command and removes the VM', async () => {
    await client.deleteResource({ deployment, resource: vm.b!.uri });
    const names = (await runner.run('ip', ['-j', 'netns', 'list'])).stdout;
    assert.ok(!names.includes(vmNs('b')));
    const list = await client.listResources({ deployments: [deployment] });
    assert.deepEqual(list.resources.map((r) => r.name).sort(), ['a', 'c']);
    const ps = (await runner.run('ps', ['-eo', 'args'])).stdout;
    assert.ok(!ps.includes('from-b'), "b's command was killed with it");
    await client.deleteResource({ deployment, resource: vm.b!.uri });
  });

  test('destroyLab removes every namespace, process and file of the cloud', async () => {
    await plugin.destroyLab();
    const names = (await runner.run('ip', ['-j', 'netns', 'list'])).stdout;
    assert.ok(!names.includes(`sky.${cloud}.`), names);
    await eventually('no process of the lab left', async () => {
      const ps = (await runner.run('ps', ['-eo', 'args'])).stdout;
      return !ps.includes('from-a');
    });
  });
});
