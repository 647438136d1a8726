// Unit tests of the lab cloud with a FakeRunner: no root, no namespaces; we
// check what it would run and what it records.
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { after, beforeEach, test } from 'node:test';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { FakeRunner, RUN_DIR } from '@skyway/dataplane';
import {
  createFakeController,
  inProcess,
  inProcessController,
  loadDescriptor,
  type PluginClient,
} from '@skyway/plugin-sdk';
import { Direction, type PermitListRuleSchema } from '@skyway/proto/plugin';
import { lookupCommandUser } from './command-user.js';
import { localOptionsFromConfig } from './config.js';
import { CAPABILITIES, createLocalPlugin, DESCRIPTOR_FILE, VERSION } from './plugin.js';

const stateDir = `/tmp/skyway-unit-${process.pid}`;
const internet = `sky.unit${process.pid}.inet`;
const deployment = { id: 'lab', namespace: 'default' };
const desc = (o: object) => new TextEncoder().encode(JSON.stringify(o));

let fake: FakeRunner;
let client: PluginClient;

beforeEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
  // no link exists yet: every veth is created
  fake = new FakeRunner().on('ip -j link show dev', { code: 1 });
  // namespaces exist once added
  fake.onCall((c) =>
    c.cmd === 'ip' && c.args.join(' ') === '-j netns list'
      ? {
          stdout: JSON.stringify(
            fake.calls
              .filter((x) => x.args[0] === 'netns' && x.args[1] === 'add')
              .map((x) => ({ name: x.args[2] })),
          ),
        }
      : undefined,
  );
  client = inProcess(
    createLocalPlugin({
      cloud: 'labunit',
      controller: inProcessController(createFakeController()),
      stateDir,
      runner: fake,
      internet,
      allowCommands: true,
    }),
  );
});
after(async () => {
  await rm(stateDir, { recursive: true, force: true });
  await rm(`${RUN_DIR}/${internet}`, { recursive: true, force: true });
  for (const d of await readdir(RUN_DIR).catch(() => [] as string[])) {
    if (d.startsWith('sky.labunit.')) await rm(`${RUN_DIR}/${d}`, { recursive: true, force: true });
  }
});

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return undefined;
  } catch (e) {
    return ConnectError.from(e);
  }
};

test('Describe names the plugin', async () => {
  const d = await client.describe({});
  assert.equal(d.name, 'local');
  assert.ok(d.version);
  assert.ok(d.capabilities.includes('vpn'));
  assert.ok(Math.abs(Number(d.nowUnixMs) - Date.now()) < 5000);
});

test('CreateResource builds VPC and VM namespaces, deny-all first, then the link', async () => {
  const r = await client.createResource({
    deployment,
    name: 'vm-a',
    description: desc({ region: 'r1', command: 'sleep 100' }),
  });
  assert.deepEqual([r.name, r.uri, r.ip], ['vm-a', 'lab://labunit/default/r1/vm-a', '10.0.0.2']);
  const lines = fake.lines;
  const at = (s: string) => lines.findIndex((l) => l.includes(s));
  assert.ok(at('ip netns add sky.labunit.r.default.r1') >= 0);
  assert.ok(at('ip netns exec sky.labunit.r.default.r1 ip addr replace 10.0.0.1/16 dev skybr0') >= 0);
  const vmNs = 'sky.labunit.v.default.r1.vm-a';
  const nft = at(`ip netns exec ${vmNs} nft -f -`);
  const veth = lines.findIndex((l) =>
    /ip link add skyv[0-9a-f]{8} type veth peer name skyeth0 netns sky\.labunit\.v\.default\.r1\.vm-a/.test(
      l,
    ),
  );
  assert.ok(nft >= 0 && veth > nft, 'the firewall is in place before the VM gets a link');
  assert.match(fake.calls[nft]!.opts.input!, /policy drop/);
  assert.ok(at(`ip netns exec ${vmNs} ip route replace default via 10.0.0.1 dev skyeth0`) >= 0);
  const spawned = fake.calls.find((c) => c.detached)!;
  // As nobody (65534 on Debian), without groups or capabilities, inside the VM's namespace.
  assert.deepEqual(
    [spawned.cmd, ...spawned.args],
    [
      'setpriv',
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--no-new-privs',
      '--',
      'sh',
      '-c',
      'sleep 100',
    ],
  );
  assert.equal(spawned.opts.netns, vmNs);
  assert.ok(at(`ip netns exec ${vmNs} sysctl -qw net.ipv4.ip_unprivileged_port_start=0`) >= 0);
  // a second VM in the same region reuses the VPC
  const b = await client.createResource({ deployment, name: 'vm-b', description: desc({ region: 'r1' }) });
  assert.equal(b.ip, '10.0.0.3');
  const used = await client.getUsedAddressSpaces({ deployments: [deployment] });
  assert.deepEqual(
    used.addressSpaceMappings.map((m) => [m.cloud, m.namespace, m.deployment, m.addressSpaces]),
    [['labunit', 'default', 'lab', ['10.0.0.0/16']]],
  );
});

test('a lab cloud whose config does not allow commands refuses a VM with one, naming the field', async () => {
  const strict = inProcess(
    createLocalPlugin({
      cloud: 'labunit',
      controller: inProcessController(createFakeController()),
      stateDir,
      runner: fake,
      internet,
    }),
  );
  const e = await codeOf(
    strict.createResource({ deployment, name: 'vm-x', description: desc({ command: 'id' }) }),
  );
  assert.equal(e?.code, Code.PermissionDenied);
  assert.equal(e?.metadata.get('skyway-error-field'), 'description.command');
  assert.match(e!.rawMessage, /allow_commands: true/);
  assert.equal(fake.calls.length, 0, 'nothing was run');
  // Without a command, it makes the VM.
  await strict.createResource({ deployment, name: 'vm-y', description: desc({}) });
  assert.equal(
    fake.calls.some((c) => c.detached),
    false,
  );
});

test('VM commands run as the configured user, never root', () => {
  assert.deepEqual(lookupCommandUser('nobody'), { name: 'nobody', uid: 65534, gid: 65534 });
  assert.throws(() => lookupCommandUser('root'), /is root/);
  assert.throws(() => lookupCommandUser('sky-no-such-user'), /is not a user of this host/);
  assert.deepEqual(localOptionsFromConfig({ allow_commands: true, command_user: 'daemon' }), {
    allowCommands: true,
    commandUser: 'daemon',
  });
  assert.throws(
    () => localOptionsFromConfig({ allow_commands: 'yes' }),
    /config.allow_commands must be true or false/,
  );
});

test('CreateResource refuses networking details with NETWORKING_NOT_ALLOWED, and bad names', async () => {
  const e = await codeOf(
    client.createResource({ deployment, name: 'x', description: desc({ region: 'r1', subnet: 's' }) }),
  );
  assert.equal(e?.code, Code.InvalidArgument);
  assert.match(e!.rawMessage, /subnet/);
  assert.equal(fake.calls.length, 0, 'nothing was run');
  const bad = await codeOf(client.createResource({ deployment, name: 'a.b', description: desc({}) }));
  assert.equal(bad?.code, Code.InvalidArgument);
});

test('permit rules render into the VM firewall; validation names the field', async () => {
  const r = await client.createResource({ deployment, name: 'vm-a', description: desc({ region: 'r1' }) });
  const rule: MessageInitShape<typeof PermitListRuleSchema> = {
    name: 'web',
    targets: ['10.9.0.0/16'],
    direction: Direction.INBOUND,
    srcPort: -1,
    dstPort: 80,
    protocol: 6,
    tags: ['web'],
  };
  await client.addPermitListRules({ namespace: 'default', resource: r.uri, rules: [rule] });
  const last = fake.calls.filter((c) => c.args.join(' ') === '-f -').at(-1)!;
  assert.match(
    last.opts.input!,
    /chain input \{[^}]*ip saddr 10\.9\.0\.0\/16 meta l4proto tcp th dport 80 ct state new counter accept comment "n=web;t=web"/,
  );
  const cases: [MessageInitShape<typeof PermitListRuleSchema>, string][] = [
    [{ dstPort: 70000 }, 'dst_port'],
    [{ protocol: 1 }, 'protocol'],
    [{ targets: ['10.0.0.0/33'] }, 'targets[0]'],
    [{ name: '' }, 'name'],
  ];
  for (const [patch, field] of cases) {
    const e = await codeOf(
      client.addPermitListRules({ namespace: 'default', resource: r.uri, rules: [{ ...rule, ...patch }] }),
    );
    assert.equal(e?.code, Code.InvalidArgument, field);
    assert.match(e!.rawMessage, new RegExp(field.replace(/[[\]]/g, '\\$&')));
  }
  const missing = await codeOf(
    client.getPermitList({ namespace: 'default', resource: 'lab://labunit/default/r1/nope' }),
  );
  assert.equal(missing?.code, Code.NotFound);
});

test('GetPermitList reads the live ruleset and keeps the caller spelling of targets', async () => {
  const r = await client.createResource({ deployment, name: 'vm-a', description: desc({ region: 'r1' }) });
  await client.addPermitListRules({
    namespace: 'default',
    resource: r.uri,
    rules: [
      {
        name: 'dns',
        targets: ['10.201.0.5/32'],
        direction: Direction.OUTBOUND,
        srcPort: -1,
        dstPort: 53,
        protocol: 17,
        tags: [],
      },
    ],
  });
  fake.on('nft -j list table inet skyway', {
    stdout: JSON.stringify({
      nftables: [
        {
          rule: {
            chain: 'output',
            comment: 'n=dns;t=',
            expr: [
              {
                match: {
                  op: '==',
                  left: { payload: { protocol: 'ip', field: 'daddr' } },
                  right: '10.201.0.5',
                },
              },
              { match: { op: '==', left: { payload: { protocol: 'udp', field: 'dport' } }, right: 53 } },
              { counter: { packets: 0, bytes: 0 } },
            ],
          },
        },
        {
          rule: {
            chain: 'input',
            comment: 'n=added-by-hand;t=',
            expr: [
              {
                match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '10.7.0.1' },
              },
            ],
          },
        },
      ],
    }),
  });
  const rules = (await client.getPermitList({ namespace: 'default', resource: r.uri })).rules;
  assert.deepEqual(
    rules.map((x) => [x.name, x.direction, x.targets, x.protocol, x.dstPort]),
    [
      ['dns', Direction.OUTBOUND, ['10.201.0.5/32'], 17, 53],
      ['added-by-hand', Direction.INBOUND, ['10.7.0.1'], -1, -1],
    ],
  );
});

test('a target in another VPC of the cloud peers the two routers', async () => {
  const a = await client.createResource({ deployment, name: 'a', description: desc({ region: 'r1' }) });
  const c = await client.createResource({ deployment, name: 'c', description: desc({ region: 'r2' }) });
  assert.equal(c.ip, '10.1.0.2');
  const before = fake.lines.length;
  await client.addPermitListRules({
    namespace: 'default',
    resource: a.uri,
    rules: [
      {
        name: 'from-c',
        targets: [c.ip],
        direction: Direction.INBOUND,
        srcPort: -1,
        dstPort: -1,
        protocol: -1,
        tags: [],
      },
    ],
  });
  const peering = fake.lines.slice(before);
  assert.ok(
    peering.some((l) =>
      /sky\.labunit\.r\.default\.r1 ip link add skyp[0-9a-f]{8} type veth peer name skyp[0-9a-f]{8} netns sky\.labunit\.r\.default\.r2/.test(
        l,
      ),
    ),
  );
  assert.ok(
    peering.some((l) =>
      /r\.default\.r1 ip route replace 10\.1\.0\.0\/16 via 10\.1\.0\.1 dev skyp[0-9a-f]{8} onlink/.test(l),
    ),
  );
  assert.ok(
    peering.some((l) =>
      /r\.default\.r2 ip route replace 10\.0\.0\.0\/16 via 10\.0\.0\.1 dev skyp[0-9a-f]{8} onlink/.test(l),
    ),
  );
  // peering happens once
  const n = fake.lines.length;
  await client.addPermitListRules({
    namespace: 'default',
    resource: a.uri,
    rules: [
      {
        name: 'again',
        targets: [c.ip],
        direction: Direction.INBOUND,
        srcPort: -1,
        dstPort: -1,
        protocol: -1,
        tags: [],
      },
    ],
  });
  assert.ok(!fake.lines.slice(n).some((l) => l.includes('skyp')));
});

test('CreateVpnGateway: public address on the internet, peering address on the hub; used ASNs and peering IPs', async () => {
  await client.createResource({ deployment, name: 'a', description: desc({ region: 'r1' }) });
  const gw = await client.createVpnGateway({
    deployment,
    cloud: 'lab-west',
    bgpPeeringIpAddresses: ['169.254.21.1'],
    asn: 65010,
  });
  assert.equal(gw.asn, 65010);
  assert.match(gw.gatewayIpAddresses[0]!, /^198\.1[89]\.\d+\.\d+$/);
  const again = await client.createVpnGateway({
    deployment,
    cloud: 'lab-west',
    bgpPeeringIpAddresses: ['169.254.21.1'],
    asn: 65010,
  });
  assert.deepEqual(again.gatewayIpAddresses, gw.gatewayIpAddresses);
  const t = 'sky.labunit.t.default.lab-west';
  assert.ok(
    fake.lines.includes(`ip netns exec ${t} ip addr replace ${gw.gatewayIpAddresses[0]}/15 dev skyeth0`),
  );
  assert.ok(
    fake.lines.some((l) =>
      /sky\.labunit\.h\.default ip addr replace 169\.254\.21\.1\/30 dev skyt[0-9a-f]{8}/.test(l),
    ),
  );
  assert.ok(
    fake.lines.includes(
      `ip netns exec ${t} ip route replace 10.0.0.0/16 via 169.254.21.1 dev skyhub0 onlink`,
    ),
  );
  assert.deepEqual((await client.getUsedAsns({ deployments: [deployment] })).asns, [65010]);
  assert.deepEqual((await client.getUsedBgpPeeringIpAddresses({ deployments: [deployment] })).ipAddresses, [
    '169.254.21.1',
  ]);
  const self = await codeOf(
    client.createVpnGateway({
      deployment,
      cloud: 'labunit',
      bgpPeeringIpAddresses: ['169.254.21.1'],
      asn: 1,
    }),
  );
  assert.equal(self?.code, Code.InvalidArgument);
  const noGw = await codeOf(
    client.createVpnConnections({
      deployment,
      cloud: 'lab-north',
      asn: 65020,
      gatewayIpAddresses: ['198.18.0.20'],
      bgpIpAddresses: ['169.254.22.2'],
      sharedKey: 'k',
    }),
  );
  assert.equal(noGw?.code, Code.FailedPrecondition);
  const badKey = await codeOf(
    client.createVpnConnections({
      deployment,
      cloud: 'lab-west',
      asn: 65020,
      gatewayIpAddresses: ['198.18.0.20'],
      bgpIpAddresses: ['169.254.21.2'],
      sharedKey: 'a"b',
    }),
  );
  assert.equal(badKey?.code, Code.InvalidArgument);
  assert.ok(!badKey!.rawMessage.includes('a"b'), 'the key is not echoed');
  const before = fake.lines.length;
  const outside = await codeOf(
    client.createVpnConnections({
      deployment,
      cloud: 'lab-west',
      asn: 65020,
      gatewayIpAddresses: ['52.2.144.13'],
      bgpIpAddresses: ['169.254.21.2'],
      sharedKey: 'k1',
    }),
  );
  assert.equal(outside?.code, Code.InvalidArgument);
  assert.match(
    outside!.rawMessage,
    /gateway_ip_addresses\[0\] 52\.2\.144\.13 is outside the lab's simulated internet/,
  );
  assert.equal(fake.lines.length, before, 'nothing ran: no strongSwan, no tunnel');
});

test('ListResources reports state from the kernel; DeleteResource is idempotent', async () => {
  const a = await client.createResource({ deployment, name: 'a', description: desc({ region: 'r1' }) });
  let list = await client.listResources({ deployments: [deployment] });
  assert.deepEqual(
    list.resources.map((r) => [r.name, r.state, r.addressSpace, r.deployment]),
    [['a', 'running', '10.0.0.0/16', 'lab']],
  );
  await client.deleteResource({ deployment, resource: a.uri });
  assert.ok(fake.lines.includes('ip netns del sky.labunit.v.default.r1.a'));
  await client.deleteResource({ deployment, resource: a.uri });
  list = await client.listResources({ deployments: [deployment] });
  assert.equal(list.resources.length, 0);
});

test('the descriptor says what describe() says', async () => {
  const d = await loadDescriptor(DESCRIPTOR_FILE);
  const described = await client.describe({});
  assert.deepEqual(
    [d.name, d.version, d.capabilities, d.runtime],
    [described.name, VERSION, CAPABILITIES, 'in-process'],
  );
  assert.equal(described.version, VERSION);
});
