// The AWS plugin against moto, read back through the SDK rather than the plugin:
// rules make exactly the security-group rules they say, drift is reported and
// repaired, networking is refused, two regions peer, quotas refuse whole, and
// cleanup leaves nothing with Skyway's tags.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeVpcPeeringConnectionsCommand,
  DescribeVpcsCommand,
} from '@aws-sdk/client-ec2';
import { Direction, fromConnectError, inProcess, type PluginClient } from '@skyway/plugin-sdk';
import { parseAwsConfig } from './config.js';
import { awsError } from './errors.js';
import { type AwsPlugin, createAwsPlugin } from './plugin.js';
import { TAG } from './tags.js';
import { type AwsTarget, startAwsTarget } from './testing/aws-target.js';
import { leftovers } from './testing/leftovers.js';
import { startMoto } from './testing/moto.js';
import { awsSkip } from './testing/skip.js';
import { insideCidr } from './vpn.js';

const skip = awsSkip();
const dep = { id: '123456789012', namespace: 'default' };
let t: AwsTarget;
let client: PluginClient;

const failure = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return fromConnectError(e);
  }
  assert.fail('expected a refusal');
};
const groupRules = async (region: string, groupId: string) =>
  (
    await t
      .direct(region)
      .send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }] }))
  ).SecurityGroupRules ?? [];
const groupOf = async (uri: string) => {
  const [, region, id] = /^aws:\/\/([^/]+)\/(.+)$/.exec(uri)!;
  const { DescribeInstancesCommand } = await import('@aws-sdk/client-ec2');
  const res = await t.direct(region).send(new DescribeInstancesCommand({ InstanceIds: [id!] }));
  return { region: region!, groupId: res.Reservations![0]!.Instances![0]!.SecurityGroups![0]!.GroupId! };
};
const ssh = {
  name: 'allow-ssh',
  targets: ['10.200.0.0/16', '10.201.0.7/32'],
  direction: Direction.INBOUND,
  srcPort: -1,
  dstPort: 22,
  protocol: 6,
  tags: ['bastion', 'ops'],
};

describe('aws plugin on moto', { skip }, () => {
  before(async () => {
    t = await startAwsTarget({ regions: ['us-east-1', 'us-west-2'], config: { rules_per_group: 60 } });
    client = inProcess(t.plugin);
  });
  after(async () => {
    await t?.plugin.destroyAll();
    if (t) {
      for (const r of ['us-east-1', 'us-west-2'])
        assert.deepEqual(await leftovers(t.direct(r)), [], `${r} is clean`);
    }
    await t?.stop();
  });

  it('a new instance has a group with no rule at all, and a rule makes exactly its AWS rules', async () => {
    const vm = await client.createResource({
      deployment: dep,
      name: 'web',
      description: t.description('web'),
    });
    const { region, groupId } = await groupOf(vm.uri);
    assert.deepEqual(await groupRules(region, groupId), [], 'default egress revoked: deny all');
    const mark = t.moto.calls.length;
    await client.addPermitListRules({
      namespace: 'default',
      resource: vm.uri,
      rules: [
        ssh,
        {
          ...ssh,
          name: 'dns-out',
          direction: Direction.OUTBOUND,
          protocol: 17,
          dstPort: 53,
          targets: ['10.9.0.0/24'],
          tags: [],
        },
      ],
    });
    const calls = t.moto.countSince(mark);
    assert.equal(calls.AuthorizeSecurityGroupIngress, 1, 'one call for both ingress CIDRs');
    assert.equal(calls.AuthorizeSecurityGroupEgress, 1);
    const rules = await groupRules(region, groupId);
    const view = rules
      .map((r) => [r.IsEgress, r.IpProtocol, r.FromPort, r.ToPort, r.CidrIpv4, r.Description])
      .sort((a, b) => String(a[4]).localeCompare(String(b[4])));
    assert.deepEqual(view, [
      [false, 'tcp', 22, 22, '10.200.0.0/16', 'skyway:allow-ssh=bastion,ops'],
      [false, 'tcp', 22, 22, '10.201.0.7/32', 'skyway:allow-ssh=bastion,ops'],
      [true, 'udp', 53, 53, '10.9.0.0/24', 'skyway:dns-out'],
    ]);
    for (const r of rules) {
      const tags = Object.fromEntries((r.Tags ?? []).map((x) => [x.Key, x.Value]));
      assert.equal(tags[TAG.managedBy], 'skyway', 'every rule carries the ownership marker');
    }
    await client.deletePermitListRules({ namespace: 'default', resource: vm.uri, ruleNames: ['allow-ssh'] });
    assert.deepEqual(
      (await groupRules(region, groupId)).map((r) => r.Description),
      ['skyway:dns-out'],
      'deleting a rule removes its AWS rules',
    );
  });

  it('two rules allowing the same thing share one AWS rule and keep both names', async () => {
    const vm = await client.createResource({
      deployment: dep,
      name: 'shared',
      description: t.description('shared'),
    });
    const { region, groupId } = await groupOf(vm.uri);
    await client.addPermitListRules({
      namespace: 'default',
      resource: vm.uri,
      rules: [ssh, { ...ssh, name: 'admin-ssh', targets: ['10.200.0.0/16'], tags: ['admins'] }],
    });
    const descs = (await groupRules(region, groupId)).map((r) => `${r.CidrIpv4} ${r.Description}`).sort();
    assert.deepEqual(descs, [
      '10.200.0.0/16 skyway:admin-ssh=admins;allow-ssh=bastion,ops',
      '10.201.0.7/32 skyway:allow-ssh=bastion,ops',
    ]);
    const live = await client.getPermitList({ namespace: 'default', resource: vm.uri });
    assert.deepEqual(live.rules.map((r) => [r.name, r.targets]).sort(), [
      ['admin-ssh', ['10.200.0.0/16']],
      ['allow-ssh', ['10.200.0.0/16', '10.201.0.7/32']],
    ]);
    await client.deletePermitListRules({ namespace: 'default', resource: vm.uri, ruleNames: ['admin-ssh'] });
    assert.deepEqual((await groupRules(region, groupId)).map((r) => r.Description).sort(), [
      'skyway:allow-ssh=bastion,ops',
      'skyway:allow-ssh=bastion,ops',
    ]);
  });

  it("a rule added behind Skyway's back is reported as a deviation and removed by the repair", async () => {
    const vm = await client.createResource({
      deployment: dep,
      name: 'drift',
      description: t.description('drift'),
    });
    const { region, groupId } = await groupOf(vm.uri);
    await client.addPermitListRules({ namespace: 'default', resource: vm.uri, rules: [ssh] });
    await t.direct(region).send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 3389,
            ToPort: 3389,
            IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'by hand' }],
          },
        ],
      }),
    );
    const live = await client.getPermitList({ namespace: 'default', resource: vm.uri });
    assert.equal(live.rules.length, 1, 'the Skyway rule still reads back');
    assert.equal(live.deviations.length, 1, live.deviations.join('\n'));
    assert.match(
      live.deviations[0]!,
      /ingress rule sgr-\w+: tcp 3389 from 0\.0\.0\.0\/0 \("by hand"\) is not a Skyway rule/,
    );
    // the repair: the controller applies the permit list again
    await client.addPermitListRules({ namespace: 'default', resource: vm.uri, rules: [ssh] });
    const after = await groupRules(region, groupId);
    assert.ok(!after.some((r) => r.FromPort === 3389), 'the hand-made rule is gone');
    assert.equal(after.length, 2);
    assert.deepEqual((await client.getPermitList({ namespace: 'default', resource: vm.uri })).deviations, []);
  });

  it('refuses more rules than the per-group quota, naming it, and changes nothing', async () => {
    const vm = await client.createResource({
      deployment: dep,
      name: 'many',
      description: t.description('many'),
    });
    const { region, groupId } = await groupOf(vm.uri);
    await client.addPermitListRules({ namespace: 'default', resource: vm.uri, rules: [ssh] });
    const before = (await groupRules(region, groupId)).map((r) => r.SecurityGroupRuleId).sort();
    const targets = Array.from({ length: 61 }, (_, i) => `10.50.${i}.0/24`);
    const mark = t.moto.calls.length;
    const e = await failure(
      client.addPermitListRules({
        namespace: 'default',
        resource: vm.uri,
        rules: [{ ...ssh, name: 'wide', targets, tags: ['big'] }],
      }),
    );
    assert.equal(e.code, 'QUOTA_EXCEEDED');
    assert.match(e.message, /Inbound or outbound rules per security group/);
    assert.match(e.message, /63 inbound rules/);
    assert.equal(t.moto.countSince(mark).AuthorizeSecurityGroupIngress ?? 0, 0, 'nothing was sent');
    assert.deepEqual((await groupRules(region, groupId)).map((r) => r.SecurityGroupRuleId).sort(), before);
  });

  it('refuses networking details in a RunInstances description, naming the field, and makes nothing', async () => {
    const before = t.moto.calls.filter((c) => c.action === 'RunInstances').length;
    for (const [field, value] of Object.entries({
      SubnetId: 'subnet-1',
      NetworkInterfaces: [{ DeviceIndex: 0 }],
      SecurityGroupIds: ['sg-1'],
      SecurityGroups: ['default'],
      PrivateIpAddress: '10.0.0.9',
      Ipv6Addresses: [{ Ipv6Address: '::1' }],
      AssociatePublicIpAddress: true,
    })) {
      const e = await failure(
        client.createResource({
          deployment: dep,
          name: 'net',
          description: t.description('net', { [field]: value }),
        }),
      );
      assert.equal(e.code, 'NETWORKING_NOT_ALLOWED', `${field}: ${e.message}`);
      assert.equal(e.field, `description.${field}`);
      assert.ok(e.message.includes(field));
    }
    const wrongRegion = await failure(
      client.createResource({
        deployment: dep,
        name: 'net',
        description: t.description('net', { Placement: { AvailabilityZone: 'eu-west-1a' } }),
      }),
    );
    assert.equal(wrongRegion.field, 'description.Placement.AvailabilityZone');
    assert.equal(
      t.moto.calls.filter((c) => c.action === 'RunInstances').length,
      before,
      'no RunInstances call',
    );
  });

  it('two regions get two VPCs, and a rule spanning them peers them with routes both ways', async () => {
    const east = await client.createResource({
      deployment: dep,
      name: 'e1',
      description: t.description('e1'),
    });
    const west = await client.createResource({
      deployment: dep,
      name: 'w1',
      description: t.description('w1', { Placement: { AvailabilityZone: 'us-west-2a' } }),
    });
    assert.match(west.uri, /^aws:\/\/us-west-2\//);
    const vpcOf = async (region: string) =>
      (
        await t.direct(region).send(
          new DescribeVpcsCommand({
            Filters: [
              { Name: `tag:${TAG.role}`, Values: ['vpc'] },
              { Name: `tag:${TAG.namespace}`, Values: ['default'] },
            ],
          }),
        )
      ).Vpcs![0]!;
    const [ve, vw] = [await vpcOf('us-east-1'), await vpcOf('us-west-2')];
    assert.notEqual(ve.CidrBlock, vw.CidrBlock);
    await client.addPermitListRules({
      namespace: 'default',
      resource: east.uri,
      rules: [{ ...ssh, name: 'from-west', targets: [`${west.ip}/32`], tags: ['default.aws.w1'] }],
    });
    const peerings = (
      await t.direct('us-east-1').send(new DescribeVpcPeeringConnectionsCommand({}))
    ).VpcPeeringConnections!.filter((p) => p.Status?.Code === 'active');
    assert.equal(peerings.length, 1);
    const pcx = peerings[0]!.VpcPeeringConnectionId;
    const routesTo = async (region: string, vpcId: string) =>
      (
        await t
          .direct(region)
          .send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))
      )
        .RouteTables!.flatMap((rt) => rt.Routes ?? [])
        .filter((r) => r.VpcPeeringConnectionId === pcx)
        .map((r) => r.DestinationCidrBlock);
    assert.deepEqual(await routesTo('us-east-1', ve.VpcId!), [vw.CidrBlock]);
    assert.deepEqual(await routesTo('us-west-2', vw.VpcId!), [ve.CidrBlock]);
    // again: nothing new
    await client.addPermitListRules({
      namespace: 'default',
      resource: east.uri,
      rules: [{ ...ssh, name: 'from-west', targets: [`${west.ip}/32`], tags: ['default.aws.w1'] }],
    });
    const again = (
      await t.direct('us-east-1').send(new DescribeVpcPeeringConnectionsCommand({}))
    ).VpcPeeringConnections!.filter((p) => p.Status?.Code === 'active');
    assert.equal(again.length, 1);
  });

  it("rides out AWS throttling with the SDK's retries", async () => {
    const mark = t.moto.calls.length;
    t.moto.throttle(1);
    const list = await client.listResources({ deployments: [dep] });
    assert.ok(list.resources.length >= 1);
    assert.equal(t.moto.countSince(mark).DescribeInstances, 2, 'one throttled, one retried');
  });

  it('ListResources reports instances with their state; deleting every resource leaves no Skyway object', async () => {
    const list = await client.listResources({ deployments: [dep] });
    assert.ok(list.resources.length >= 5);
    for (const r of list.resources) assert.equal(r.state, 'running');
    for (const r of list.resources) await client.deleteResource({ deployment: dep, resource: r.uri });
    assert.deepEqual((await client.listResources({ deployments: [dep] })).resources, []);
    for (const r of ['us-east-1', 'us-west-2'])
      assert.deepEqual(await leftovers(t.direct(r)), [], `${r} is clean`);
  });
});

describe('aws config and errors', () => {
  it('refuses credentials in the config and unknown fields, naming them', () => {
    assert.throws(
      () => parseAwsConfig({ regions: ['us-east-1'], secret_access_key: 'x' }),
      /credentials never go into Skyway's config/,
    );
    assert.throws(
      () => parseAwsConfig({ regions: ['us-east-1'], colour: 'x' }),
      /config\.colour is not a known field/,
    );
    assert.throws(() => parseAwsConfig({ regions: ['mars-1'] }), /config\.regions\[0\] "mars-1"/);
    assert.deepEqual(parseAwsConfig({ region: 'eu-west-1' }).regions, ['eu-west-1']);
  });

  it('takes only the tunnel inside CIDRs AWS accepts, naming the field', () => {
    assert.equal(insideCidr('169.254.10.1', 'f', 1), '169.254.10.0/30');
    assert.equal(insideCidr('169.254.10.2', 'f', 2), '169.254.10.0/30');
    assert.throws(
      () => insideCidr('169.254.3.1', 'bgp_peering_ip_addresses[0]', 1),
      /bgp_peering_ip_addresses\[0\] 169\.254\.3\.1: AWS refuses 169\.254\.3\.0\/30/,
    );
    assert.throws(() => insideCidr('169.254.169.253', 'f', 1), /AWS refuses 169\.254\.169\.252\/30/);
    assert.throws(() => insideCidr('169.254.10.2', 'f', 1), /AWS takes the first address/);
    assert.throws(() => insideCidr('10.0.0.1', 'f', 1), /inside 169\.254\.0\.0\/16/);
  });

  it('CheckCredentials says whether the key or the region is wrong', { skip, timeout: 60_000 }, async () => {
    // this moto checks access keys as AWS does: the dummy key is unknown to it
    const strict = await startMoto({ INITIAL_NO_AUTH_ACTION_COUNT: '0' });
    const lax = await startMoto();
    const plugins = [
      createAwsPlugin({
        cloud: 'aws',
        config: { regions: ['us-east-1'], endpoint: strict.endpoint, max_attempts: 1 },
      }),
      createAwsPlugin({
        cloud: 'aws',
        config: { regions: ['us-east-1', 'xx-nowhere-1'], endpoint: lax.endpoint, max_attempts: 1 },
      }),
    ];
    try {
      const check = (p: AwsPlugin) => inProcess(p).checkCredentials({ deployment: dep });
      const key = await check(plugins[0]!);
      assert.equal(key.ok, false);
      assert.match(key.message, /the credentials were refused: .*InvalidClientTokenId.*check the access key/);
      const region = await check(plugins[1]!);
      assert.equal(region.ok, false);
      assert.match(
        region.message,
        /^account 123456789012 .* but region xx-nowhere-1 does not answer: .*unknown region "xx-nowhere-1"/,
      );
    } finally {
      for (const p of plugins) p.close();
      await strict.stop();
      await lax.stop();
    }
  });

  it('says whether the key or the region is wrong', () => {
    const key = awsError(
      { name: 'AuthFailure', message: 'AWS was not able to validate the provided access credentials' },
      'STS GetCallerIdentity',
    );
    assert.equal((key as { code?: string }).code, 'UNAUTHENTICATED');
    assert.match(key.message, /check the access key/);
    const region = awsError(
      { name: 'Error', message: 'getaddrinfo ENOTFOUND ec2.xx-nowhere-1.amazonaws.com' },
      'EC2 in xx-nowhere-1',
      'xx-nowhere-1',
    );
    assert.match(region.message, /is "xx-nowhere-1" an enabled region/);
  });
});
