import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layout, topology } from './topology-model.js';

const input = {
  clouds: [
    { namespace: 'default', cloud: 'lab-east', plugin: 'local' },
    { namespace: 'default', cloud: 'lab-west', plugin: 'local' },
  ],
  resources: [
    {
      namespace: 'default',
      cloud: 'lab-east',
      name: 'web-1',
      uri: 'lab://lab-east/default/r1/web-1',
      ip: '10.0.0.2',
    },
    {
      namespace: 'default',
      cloud: 'lab-east',
      name: 'db-1',
      uri: 'lab://lab-east/default/r2/db-1',
      ip: '10.1.0.2',
    },
    {
      namespace: 'default',
      cloud: 'lab-west',
      name: 'app-2',
      uri: 'lab://lab-west/default/r1/app-2',
      ip: '10.2.0.3',
    },
  ],
  connections: [{ namespace: 'default', cloud_a: 'lab-east', cloud_b: 'lab-west', status: 'up' }],
  agents: [{ name: 'edge-1', services: [{ type: 'x-files', name: 'files' }], connections: 1 }],
  overlays: [
    {
      name: 'ovl',
      hubs: [{ name: 'hub-a' }],
      devices: [{ name: 'dev-1' }],
      tunnels: [
        { from: 'hub-a', to: 'dev-1', state: 'established' },
        { from: 'hub-a', to: 'gone', state: 'pending' },
      ],
    },
  ],
};

test('the topology nests VMs in their region and cloud, links the VPN, agents and overlay tunnels', () => {
  const { nodes, edges } = topology(input);
  const node = (id: string) => nodes.find((n) => n.id === id);
  assert.equal(node('vm:default/lab-east/db-1')?.parent, 'region:default/lab-east/r2');
  assert.equal(node('region:default/lab-east/r2')?.parent, 'cloud:default/lab-east');
  assert.deepEqual(node('vm:default/lab-west/app-2')?.route, ['resource', 'default', 'lab-west', 'app-2']);
  assert.equal(node('svc:edge-1/x-files/files')?.parent, 'agent:edge-1');
  const vpn = edges.find((e) => e.kind === 'vpn');
  assert.deepEqual(
    [vpn?.source, vpn?.target, vpn?.ok],
    ['cloud:default/lab-east', 'cloud:default/lab-west', true],
  );
  assert.deepEqual(
    edges.filter((e) => e.kind === 'overlay').map((e) => [e.source, e.target, e.ok]),
    [['hub:ovl/hub-a', 'device:ovl/dev-1', true]],
    'a tunnel to an unknown end is left out',
  );
});

test('the layout places every leaf once, clouds side by side, nothing on top of another', () => {
  const { nodes } = topology(input);
  const pos = layout(nodes);
  const leaves = nodes.filter((n) => !nodes.some((m) => m.parent === n.id));
  for (const n of leaves) assert.ok(pos[n.id], n.id);
  const seen = new Set(leaves.map((n) => `${pos[n.id]!.x},${pos[n.id]!.y}`));
  assert.equal(seen.size, leaves.length);
  assert.ok(pos['vm:default/lab-west/app-2']!.x > pos['vm:default/lab-east/web-1']!.x);
});
