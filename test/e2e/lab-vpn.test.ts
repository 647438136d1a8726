// Two lab clouds joined by a VPN, driven the way the controller does it:
// CreateVpnGateway on both sides, then CreateVpnConnections with a shared key.
// Traffic flows, only ESP-in-UDP/4500 (and IKE) crosses the internet bridge
// with no plaintext of the payload, each side learns the other's VPC prefix via
// BGP, and DeleteVpnConnections takes it all down again.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { killPids, sleep, teardown } from '@skyway/dataplane';
import { createLocalPlugin, LabNames, type LocalPlugin } from '@skyway/plugin-local';
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

const skip =
  skipReason() ?? (['/usr/bin/tcpdump', '/usr/sbin/tcpdump'].some(existsSync) ? undefined : 'needs tcpdump');

const id = testId();
const internet = `sky.${id}.inet`;
const deployment = { id: 'lab', namespace: 'default' };
const marker = `SKYPLAINTEXT${randomBytes(6).toString('hex')}`;

describe('two lab clouds with a VPN', { skip, timeout: 240_000 }, () => {
  const controller = inProcessController(createFakeController());
  const clouds = { east: `${id}-east`, west: `${id}-west` };
  const plugins: Record<string, LocalPlugin> = {};
  const clients: Record<string, PluginClient> = {};
  const vms: Record<string, { uri: string; ip: string }> = {};
  const names = (side: 'east' | 'west') => new LabNames(clouds[side]);
  const vmNs = (side: 'east' | 'west') => names(side).vm('default', 'r1', 'vm');
  const hubNs = (side: 'east' | 'west') => names(side).hub('default');
  const tunnelNs = (side: 'east' | 'west') =>
    names(side).tunnel('default', clouds[side === 'east' ? 'west' : 'east']);

  before(async () => {
    for (const side of ['east', 'west'] as const) {
      plugins[side] = createLocalPlugin({
        cloud: clouds[side],
        controller,
        stateDir: `/tmp/skyway-${id}-${side}`,
        runner,
        internet,
        allowCommands: true,
      });
      clients[side] = inProcess(plugins[side]);
      vms[side] = await clients[side].createResource({
        deployment,
        name: 'vm',
        description: description({
          region: 'r1',
          command: httpCommand(8080, `${marker}-${side}`.repeat(200)),
        }),
      });
    }
  });
  after(async () => {
    for (const p of Object.values(plugins)) await p.destroyLab().catch(() => {});
    await teardown(runner, {
      prefix: `sky.${id}`,
      dirs: [`/tmp/skyway-${id}-east`, `/tmp/skyway-${id}-west`, `/tmp/skyway-${id}-cap.txt`],
    });
  });

  test('VPN gateways and connections come up; BGP learns the remote VPC prefix', async () => {
    const plan = {
      east: { asn: 65101, bgp: '169.254.40.1' },
      west: { asn: 65102, bgp: '169.254.40.2' },
    };
    const gw: Record<string, { asn: number; gatewayIpAddresses: string[] }> = {};
    await Promise.all(
      (['east', 'west'] as const).map(async (side) => {
        const other = side === 'east' ? 'west' : 'east';
        gw[side] = await clients[side]!.createVpnGateway({
          deployment,
          cloud: clouds[other],
          bgpPeeringIpAddresses: [plan[side].bgp],
          asn: plan[side].asn,
        });
      }),
    );
    assert.equal(gw.east!.asn, 65101);
    assert.match(gw.east!.gatewayIpAddresses[0]!, /^198\.1[89]\./);
    assert.notEqual(gw.east!.gatewayIpAddresses[0], gw.west!.gatewayIpAddresses[0]);
    const sharedKey = randomBytes(32).toString('base64url');
    await Promise.all(
      (['east', 'west'] as const).map((side) => {
        const other = side === 'east' ? 'west' : 'east';
        return clients[side]!.createVpnConnections({
          deployment,
          cloud: clouds[other],
          asn: gw[other]!.asn,
          gatewayIpAddresses: gw[other]!.gatewayIpAddresses,
          bgpIpAddresses: [plan[other].bgp],
          sharedKey,
        });
      }),
    );
    assert.deepEqual((await clients.east!.getUsedAsns({ deployments: [deployment] })).asns, [65101]);
    assert.deepEqual(
      (await clients.west!.getUsedBgpPeeringIpAddresses({ deployments: [deployment] })).ipAddresses,
      ['169.254.40.2'],
    );
    const t0 = Date.now();
    for (const side of ['east', 'west'] as const) {
      const other = side === 'east' ? 'west' : 'east';
      const remotePrefix = vms[other]!.ip.replace(/\.\d+\.\d+$/, '.0.0/16');
      await eventually(
        `${side} learns ${remotePrefix} via BGP`,
        async () => {
          const routes = await plugins[side]!.network.bird.routes(hubNs(side));
          return routes.some((r) => r.prefix === remotePrefix && r.proto.startsWith('r_'));
        },
        30_000,
      );
      const kernel = (await runner.run('ip', ['-j', 'route'], { netns: hubNs(side) })).stdout;
      assert.match(kernel, new RegExp(`"dst":"${remotePrefix.replace(/\./g, '\\.')}"[^}]*"protocol":"bird"`));
    }
    console.log(`# BGP converged ${Date.now() - t0} ms after CreateVpnConnections`);
    // no static route to the remote prefix anywhere but via BGP
    const hubConf = await readFile(`/run/skyway/${hubNs('east')}/bird/bird.conf`, 'utf8');
    assert.ok(
      !hubConf.includes(vms.west!.ip.replace(/\.\d+\.\d+$/, '.0.0/16')),
      'east does not configure the west prefix',
    );
    assert.ok(!hubConf.includes(sharedKey), 'no key in bird.conf');
  });

  test('traffic flows across the VPN, encrypted: ESP-in-UDP/4500 only, no plaintext, counters grow', async () => {
    await clients.east!.addPermitListRules({
      namespace: 'default',
      resource: vms.east!.uri,
      rules: [
        {
          name: 'to-west',
          targets: [vms.west!.ip],
          direction: Direction.OUTBOUND,
          srcPort: -1,
          dstPort: 8080,
          protocol: 6,
          tags: ['west'],
        },
        {
          name: 'ping-west',
          targets: [vms.west!.ip],
          direction: Direction.OUTBOUND,
          srcPort: -1,
          dstPort: -1,
          protocol: 1,
          tags: ['west'],
        },
      ],
    });
    await clients.west!.addPermitListRules({
      namespace: 'default',
      resource: vms.west!.uri,
      rules: [
        {
          name: 'from-east',
          targets: [vms.east!.ip],
          direction: Direction.INBOUND,
          srcPort: -1,
          dstPort: 8080,
          protocol: 6,
          tags: ['east'],
        },
        {
          name: 'ping-east',
          targets: [vms.east!.ip],
          direction: Direction.INBOUND,
          srcPort: -1,
          dstPort: -1,
          protocol: 1,
          tags: ['east'],
        },
      ],
    });
    const sasBefore = await plugins.east!.network.ipsec.listSas(tunnelNs('east'));
    const inBefore = sasBefore.flatMap((s) => s.children).reduce((a, c) => a + c.bytesIn, 0);

    // capture on the internet bridge while fetching
    const capFile = `/tmp/skyway-${id}-cap.txt`;
    const cap = spawn(
      'sh',
      ['-c', `exec ip netns exec ${internet} tcpdump -l -n -A -i skyinet0 > ${capFile} 2>/dev/null`],
      { stdio: 'ignore', detached: true },
    );
    const capPid = cap.pid!;
    await sleep(800);
    let body: string | undefined;
    try {
      body = await eventually(
        'HTTP east -> west over the VPN',
        () => httpGet(vmNs('east'), `http://${vms.west!.ip}:8080/`, 3),
        20_000,
      );
      if (hasPing()) assert.ok(await ping(vmNs('east'), vms.west!.ip, { count: 3 }), 'ICMP east -> west');
      assert.equal(
        await httpGet(vmNs('west'), `http://${vms.east!.ip}:8080/`, 1),
        undefined,
        'west -> east is not allowed',
      );
      await sleep(800);
    } finally {
      // tcpdump runs as a child of sh that exec'd ip netns exec -> tcpdump: same pid
      await killPids([capPid]);
    }
    assert.equal(body?.length, `${marker}-west`.length * 200);
    const capture = await readFile(capFile, 'utf8');
    const lines = capture.split('\n').filter((l) => /^\d\d:\d\d/.test(l));
    assert.ok(lines.length > 10, `captured ${lines.length} packets`);
    const ipLines = lines.filter((l) => / IP /.test(l));
    const esp = ipLines.filter((l) => /\.4500 > .*\.4500: UDP-encap/.test(l) || /\.4500 > .*\.4500:/.test(l));
    assert.ok(esp.length > 10, `${esp.length} ESP-in-UDP packets`);
    const other = ipLines.filter((l) => !/\.(4500|500) > [\d.]+\.(4500|500):/.test(l));
    assert.deepEqual(other, [], 'nothing but IKE and ESP-in-UDP on the internet');
    assert.ok(!capture.includes(marker), 'no plaintext of the payload on the internet bridge');
    const sasAfter = await plugins.east!.network.ipsec.listSas(tunnelNs('east'));
    const inAfter = sasAfter.flatMap((s) => s.children).reduce((a, c) => a + c.bytesIn, 0);
    assert.ok(inAfter - inBefore >= body!.length, `ESP bytes in grew by ${inAfter - inBefore}`);
    console.log(`# ${esp.length} ESP-in-UDP/4500 packets captured, ESP bytes in +${inAfter - inBefore}`);
  });

  test('throughput over the VPN (informational, iperf3)', {
    skip: !existsSync('/usr/bin/iperf3'),
  }, async () => {
    const port = 5201;
    await clients.east!.addPermitListRules({
      namespace: 'default',
      resource: vms.east!.uri,
      rules: [
        {
          name: 'iperf-out',
          targets: [vms.west!.ip],
          direction: Direction.OUTBOUND,
          srcPort: -1,
          dstPort: port,
          protocol: 6,
          tags: [],
        },
      ],
    });
    await clients.west!.addPermitListRules({
      namespace: 'default',
      resource: vms.west!.uri,
      rules: [
        {
          name: 'iperf-in',
          targets: [vms.east!.ip],
          direction: Direction.INBOUND,
          srcPort: -1,
          dstPort: port,
          protocol: 6,
          tags: [],
        },
      ],
    });
    const server = spawn('ip', ['netns', 'exec', vmNs('west'), 'iperf3', '-s', '-1', '-p', String(port)], {
      stdio: 'ignore',
      detached: true,
    });
    try {
      await sleep(500);
      const r = await runner.run('iperf3', ['-c', vms.west!.ip, '-p', String(port), '-t', '3', '-J'], {
        netns: vmNs('east'),
        timeoutMs: 20_000,
      });
      const bps = (JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } }).end
        .sum_received.bits_per_second;
      console.log(`# iperf3 east -> west over IKEv2/libipsec: ${(bps / 1e6).toFixed(0)} Mbit/s`);
      assert.ok(bps > 1e6, 'more than 1 Mbit/s');
    } finally {
      await killPids([server.pid!]);
    }
  });

  test('DeleteVpnConnections takes the tunnel and the learned routes down', async () => {
    await clients.east!.deleteVpnConnections({ deployment, cloud: clouds.west });
    await clients.east!.deleteVpnConnections({ deployment, cloud: clouds.west });
    assert.equal(await plugins.east!.network.ipsec.pid(tunnelNs('east')), undefined, 'charon stopped');
    await eventually(
      'west withdraws the east prefix',
      async () => {
        const routes = await plugins.west!.network.bird.routes(hubNs('west'));
        return !routes.some((r) => r.proto.startsWith('r_'));
      },
      30_000,
    );
    assert.equal(await httpGet(vmNs('east'), `http://${vms.west!.ip}:8080/`, 1), undefined);
    await clients.west!.deleteVpnConnections({ deployment, cloud: clouds.east });
  });
});
