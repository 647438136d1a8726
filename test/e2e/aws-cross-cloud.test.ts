// Cross-cloud through the controller: a rule between an AWS VM (moto) and a VM
// of the fake cloud makes gateways on both sides, a customer gateway for each
// remote address, a VPN connection with the allocated ASNs, inside CIDRs and
// key, and route propagation; the poller finds and repairs a hand-made rule;
// removing everything leaves no Skyway object.
// moto hands out public tunnel addresses: only the fake cloud gets them, and it
// dials nothing. Loopback only; no root, no lock needed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeCustomerGatewaysCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeVpnConnectionsCommand,
  DescribeVpnGatewaysCommand,
} from '@aws-sdk/client-ec2';
import { parseConfig, type RunningController, startController } from '@skyway/controller';
import { type AwsPlugin, createAwsPlugin, DESCRIPTOR_FILE, TAG } from '@skyway/plugin-aws';
import { type AwsTarget, startAwsTarget } from '@skyway/plugin-aws/testing';
import { awsSkip } from '@skyway/plugin-aws/testing/skip';
import { createFakePlugin, type FakePlugin } from '@skyway/plugin-sdk/testing';

const skip = awsSkip();
let t: AwsTarget;
let ctl: RunningController;
let home: string;
let aws: AwsPlugin | undefined;
let fake: FakePlugin | undefined;

const call = async (method: string, url: string, body?: unknown) => {
  const res = await ctl.app.inject({
    method: method as 'GET',
    url,
    headers: { authorization: `Bearer ${ctl.adminToken}` },
    ...(body === undefined ? {} : { payload: body as object }),
  });
  return { status: res.statusCode, json: res.body ? JSON.parse(res.body) : undefined };
};
const live = (s?: string) => s !== 'deleted' && s !== 'deleting';
const mine = [{ Name: `tag:${TAG.managedBy}`, Values: ['skyway'] }];

before(async () => {
  if (skip) return;
  t = await startAwsTarget();
  home = mkdtempSync(join(tmpdir(), 'skyway-aws-e2e-'));
  const config = parseConfig(
    {
      listen: '127.0.0.1:0',
      poll_interval: 0,
      namespaces: {
        default: {
          clouds: {
            aws: {
              plugin: 'aws',
              config: {
                regions: ['us-east-1'],
                endpoint: t.moto.endpoint,
                wait_seconds: 60,
                max_attempts: 2,
              },
            },
            fake: { plugin: 'fake' },
          },
        },
      },
    },
    'test',
    home,
  );
  ctl = await startController({
    config,
    listen: false,
    builtinDescriptors: [DESCRIPTOR_FILE],
    inProcessPlugins: {
      aws: ({ cloud, config, controller }) => {
        aws = createAwsPlugin({ cloud, config, controller });
        return aws;
      },
      fake: ({ cloud, controller }) => {
        fake = createFakePlugin({ cloud, controller });
        return fake;
      },
    },
  });
});

after(async () => {
  if (skip) return;
  await ctl?.close();
  await aws?.destroyAll().catch(() => {});
  aws?.close();
  await t?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

test('a rule between an AWS VM and a fake-cloud VM connects the clouds over a VPN', {
  skip,
  timeout: 120_000,
}, async () => {
  const a = await call('POST', '/api/v1/namespaces/default/clouds/aws/resources', {
    name: 'vm-a',
    description: { ImageId: t.imageId, InstanceType: 't3.micro' },
  });
  assert.equal(a.status, 201, JSON.stringify(a.json));
  const b = await call('POST', '/api/v1/namespaces/default/clouds/fake/resources', {
    name: 'vm-b',
    description: { size: 'small' },
  });
  assert.equal(b.status, 201, JSON.stringify(b.json));
  const mark = t.moto.calls.length;
  const rule = await call('POST', '/api/v1/namespaces/default/clouds/aws/resources/vm-a/rules', {
    name: 'ssh-from-b',
    direction: 'INBOUND',
    dst_port: 22,
    protocol: 6,
    tags: [b.json.tag],
  });
  assert.equal(rule.status, 200, JSON.stringify(rule.json));

  const conns = await call('GET', '/api/v1/connections');
  const conn = conns.json.connections.find(
    (c: { cloud_a: string; cloud_b: string }) => c.cloud_a === 'aws' && c.cloud_b === 'fake',
  );
  assert.ok(conn, JSON.stringify(conns.json));
  const awsSide = conn.detail.aws;
  const fakeSide = conn.detail.fake;
  // two tunnels per remote address (AWS's), AWS on the first address of each /30
  assert.equal(awsSide.bgp_peering_ip_addresses.length, 2 * fakeSide.gateway_ip_addresses.length);
  for (const [i, ip] of awsSide.bgp_peering_ip_addresses.entries()) {
    const last = Number(ip.split('.')[3]);
    assert.equal(last % 4, 1, `AWS takes the first host: ${ip}`);
    assert.equal(Number(fakeSide.bgp_peering_ip_addresses[i].split('.')[3]), last + 1);
  }

  // AWS, read through the SDK straight from moto
  const ec2 = t.direct();
  const vgws = (await ec2.send(new DescribeVpnGatewaysCommand({ Filters: mine }))).VpnGateways!.filter((g) =>
    live(g.State),
  );
  assert.equal(vgws.length, 1);
  assert.equal(Number(vgws[0]!.AmazonSideAsn), awsSide.asn);
  assert.ok(
    vgws[0]!.VpcAttachments?.some((x) => x.State === 'attached'),
    'the VGW is attached to the VPC',
  );
  const cgws = (
    await ec2.send(new DescribeCustomerGatewaysCommand({ Filters: mine }))
  ).CustomerGateways!.filter((g) => live(g.State));
  assert.deepEqual(
    cgws.map((g) => g.IpAddress).sort(),
    [...fakeSide.gateway_ip_addresses].sort(),
    'a customer gateway per remote address',
  );
  for (const g of cgws) assert.equal(Number(g.BgpAsn), fakeSide.asn);
  const vpns = (await ec2.send(new DescribeVpnConnectionsCommand({ Filters: mine }))).VpnConnections!.filter(
    (c) => live(c.State),
  );
  assert.equal(vpns.length, fakeSide.gateway_ip_addresses.length);
  assert.equal(vpns[0]!.VpnGatewayId, vgws[0]!.VpnGatewayId);

  // what the plugin asked AWS for (moto keeps no tunnel options): BGP, both tunnels, inside CIDRs, key
  const created = t.moto.calls.slice(mark).filter((c) => c.action === 'CreateVpnConnection');
  assert.equal(created.length, fakeSide.gateway_ip_addresses.length, 'one VPN connection per remote address');
  // every tunnel carries a /30 the controller planned, in order, both with the shared key
  const fakeConn = fake!.snapshot().connections[0]!;
  const planned = awsSide.bgp_peering_ip_addresses.map(
    (ip: string) => `${ip.replace(/\d+$/, (n) => String(Number(n) - 1))}/30`,
  );
  const sent = created.flatMap((c) =>
    [1, 2].map((i) => c.params.get(`Options.TunnelOptions.${i}.TunnelInsideCidr`)),
  );
  assert.deepEqual(sent, planned);
  for (const c of created) {
    assert.equal(c.params.get('Options.StaticRoutesOnly'), 'false', 'BGP');
    for (const i of [1, 2])
      assert.equal(c.params.get(`Options.TunnelOptions.${i}.PreSharedKey`), fakeConn.sharedKey);
  }
  const fakeGw = fake!.snapshot().gateways;
  assert.equal(fakeGw.length, 1, 'a gateway on the fake side too');
  assert.equal(fakeGw[0]!.asn, fakeSide.asn);
  assert.deepEqual(fakeGw[0]!.bgpPeeringIpAddresses, fakeSide.bgp_peering_ip_addresses);
  // the fake side dials AWS's tunnel outside addresses, in tunnel order, and peers with AWS's ASN
  assert.equal(fakeConn.asn, awsSide.asn);
  assert.equal(
    fakeConn.gatewayIpAddresses.length,
    2 * fakeSide.gateway_ip_addresses.length,
    'two tunnels each',
  );
  assert.deepEqual(fakeConn.gatewayIpAddresses, awsSide.gateway_ip_addresses);
  assert.deepEqual(fakeConn.bgpIpAddresses, awsSide.bgp_peering_ip_addresses);
  // routes: BGP-learned routes propagate into the VPC's route table (moto accepts the call but does not implement it)
  assert.ok(t.moto.calls.slice(mark).some((c) => c.action === 'EnableVgwRoutePropagation'));

  // the rule itself: exactly one ingress rule, tcp 22 from vm-b
  const sg = (await ec2.send(new DescribeSecurityGroupRulesCommand({}))).SecurityGroupRules!.filter((r) =>
    r.Description?.startsWith('skyway:ssh-from-b'),
  );
  assert.equal(sg.length, 1);
  assert.equal(sg[0]!.CidrIpv4, `${b.json.ip}/32`);
  assert.equal(sg[0]!.FromPort, 22);
  assert.equal(sg[0]!.IsEgress, false);

  // drift: a rule added behind Skyway's back is found by the poller and removed by its repair
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: sg[0]!.GroupId,
      IpPermissions: [
        { IpProtocol: 'tcp', FromPort: 3389, ToPort: 3389, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      ],
    }),
  );
  const report = await call('POST', '/api/v1/drift/check', { repair: true });
  assert.equal(report.status, 200, JSON.stringify(report.json));
  assert.ok(
    JSON.stringify(report.json).includes('3389'),
    `the drift report names the hand-made rule: ${JSON.stringify(report.json)}`,
  );
  const repaired = (await ec2.send(new DescribeSecurityGroupRulesCommand({}))).SecurityGroupRules!.filter(
    (r) => r.GroupId === sg[0]!.GroupId,
  );
  assert.deepEqual(
    repaired.map((r) => r.FromPort),
    [22],
    'only the Skyway rule is left',
  );

  // remove everything: the connection, both VMs; then nothing of Skyway's is left on AWS
  assert.equal((await call('DELETE', '/api/v1/connections/default/aws/fake')).status, 200);
  assert.equal((await call('DELETE', '/api/v1/namespaces/default/clouds/aws/resources/vm-a')).status, 200);
  assert.equal((await call('DELETE', '/api/v1/namespaces/default/clouds/fake/resources/vm-b')).status, 200);
  await aws!.deleteVpnGatewayFor({ id: '', namespace: 'default' }, 'fake');
  const { leftovers } = await import('@skyway/plugin-aws/testing');
  assert.deepEqual(await leftovers(ec2), [], 'no live object with Skyway tags');
});
