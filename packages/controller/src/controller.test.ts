// The control plane end to end: the controller launches two fake plugins as
// their own processes (gRPC) for two clouds, a tag rule spanning them creates
// both VPN gateways and both connection sets, and a restart keeps it all.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FAKE_PLUGIN_MAIN } from '@skyway/plugin-sdk/testing';
import { loadConfig } from './config.js';
import { type RunningController, startController } from './controller.js';

const home = mkdtempSync(join(tmpdir(), 'skyway-it-'));
after(() => rmSync(home, { recursive: true, force: true }));

writeFileSync(
  join(home, 'fake.yaml'),
  `name: fake
version: 0.1.0
summary: In-memory cloud for tests
backend: { package: "@skyway/plugin-sdk", component: createFakePlugin }
runtime: process
command: ["${process.execPath}", "--import", "${import.meta.resolve('tsx')}", "${FAKE_PLUGIN_MAIN}"]
`,
);
writeFileSync(
  join(home, 'skyway.yaml'),
  `listen: 127.0.0.1:0
plugins: [fake.yaml]
namespaces:
  default:
    clouds:
      cloud-a: { plugin: fake }
      cloud-b: { plugin: fake }
`,
);

async function start(): Promise<RunningController> {
  return startController({ config: loadConfig(join(home, 'skyway.yaml'), home) });
}

async function api(c: RunningController, method: string, path: string, body?: unknown) {
  const res = await fetch(`${c.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${c.adminToken}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: (await res.json()) as any };
}

test('a tag rule across two gRPC plugins connects the clouds, and a restart keeps everything', async () => {
  let c = await start();
  try {
    const plugins = await api(c, 'GET', '/api/v1/plugins');
    assert.deepEqual(
      plugins.json.plugins.map((p: { cloud: string; runtime: string }) => `${p.cloud}:${p.runtime}`),
      ['cloud-a:process', 'cloud-b:process'],
    );
    const desc = JSON.stringify({ region: 'r1' });
    const a = await api(c, 'POST', '/api/v1/namespaces/default/clouds/cloud-a/resources', {
      name: 'vm-a',
      description: desc,
    });
    const b = await api(c, 'POST', '/api/v1/namespaces/default/clouds/cloud-b/resources', {
      name: 'vm-b',
      description: desc,
    });
    assert.equal(a.status, 201, JSON.stringify(a.json));
    assert.equal(b.status, 201, JSON.stringify(b.json));
    assert.notEqual(
      a.json.ip.split('.').slice(0, 2).join('.'),
      b.json.ip.split('.').slice(0, 2).join('.'),
      'distinct address spaces',
    );
    await api(c, 'PUT', '/api/v1/tags/app', { child_tags: ['default.cloud-a.vm-a', 'default.cloud-b.vm-b'] });
    const applied = await api(c, 'POST', '/api/v1/tags/app/rules', [
      { name: 'app-in', direction: 'INBOUND', src_port: -1, dst_port: 8080, protocol: 6, tags: ['app'] },
    ]);
    assert.equal(applied.status, 200, JSON.stringify(applied.json));
    assert.equal(applied.json.applied.length, 2);

    const conns = (await api(c, 'GET', '/api/v1/connections')).json.connections;
    assert.equal(conns.length, 1);
    const { detail } = conns[0];
    const sideA = detail['cloud-a'];
    const sideB = detail['cloud-b'];
    assert.notEqual(sideA.asn, sideB.asn);
    assert.ok(sideA.asn >= 64512 && sideB.asn >= 64512);
    assert.equal(sideA.gateway_ip_addresses.length > 0 && sideB.gateway_ip_addresses.length > 0, true);
    const peeringA = sideA.bgp_peering_ip_addresses[0];
    const peeringB = sideB.bgp_peering_ip_addresses[0];
    assert.notEqual(peeringA, peeringB);
    assert.equal(
      peeringA.split('.').slice(0, 3).join('.'),
      peeringB.split('.').slice(0, 3).join('.'),
      'one /30',
    );

    // What the plugins recorded: both gateways and both connection sets.
    for (const [cloud, self, peer] of [
      ['cloud-a', sideA, sideB],
      ['cloud-b', sideB, sideA],
    ] as const) {
      const binding = c.services.plugins.get('default', cloud);
      const deployments = [{ id: cloud, namespace: 'default' }];
      assert.deepEqual((await binding.client.getUsedAsns({ deployments })).asns, [self.asn]);
      assert.deepEqual(
        (await binding.client.getUsedBgpPeeringIpAddresses({ deployments })).ipAddresses,
        self.bgp_peering_ip_addresses,
      );
      assert.ok(peer.asn);
    }
    const rulesBefore = (
      await api(c, 'GET', '/api/v1/namespaces/default/clouds/cloud-a/resources/vm-a/rules')
    ).json;
    assert.deepEqual(rulesBefore.rules[0].targets.sort(), [`${a.json.ip}/32`, `${b.json.ip}/32`].sort());

    await c.close();
    c = await start();
    const rulesAfter = (await api(c, 'GET', '/api/v1/namespaces/default/clouds/cloud-a/resources/vm-a/rules'))
      .json;
    assert.deepEqual(rulesAfter, rulesBefore);
    assert.deepEqual((await api(c, 'GET', '/api/v1/connections')).json.connections, conns);
    assert.deepEqual((await api(c, 'GET', '/api/v1/tags/app')).json.child_tags, [
      'default.cloud-a.vm-a',
      'default.cloud-b.vm-b',
    ]);
    // The connection is recorded: the same pair is not set up twice.
    await api(c, 'POST', '/api/v1/namespaces/default/clouds/cloud-b/resources/vm-b/rules', {
      name: 'again',
      direction: 'OUTBOUND',
      protocol: 1,
      tags: ['default.cloud-a.vm-a'],
    });
    assert.equal((await api(c, 'GET', '/api/v1/connections')).json.connections.length, 1);
    const del = await api(c, 'DELETE', '/api/v1/connections/default/cloud-a/cloud-b');
    assert.equal(del.status, 200);
    assert.equal((await api(c, 'GET', '/api/v1/connections')).json.connections.length, 0);
  } finally {
    await c.close();
  }
});
