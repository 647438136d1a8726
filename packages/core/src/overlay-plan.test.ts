import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIpRange } from './overlay-iprange.js';
import { deviceMode, type OverlayPlanInput, planOverlay, type SiteConfig } from './overlay-plan.js';

const proposals = [
  { encryption: 'aes256', hash: 'sha256', dhGroup: 'modp4096' },
  { encryption: 'aes128gcm16', hash: 'sha256', dhGroup: 'x25519' },
];
const ranges = [parseIpRange('ipr', { subnet: '10.200.0.0/24' })];
const dev = (name: string, extra: Partial<OverlayPlanInput['devices'][number]> = {}) => ({
  name,
  publicIps: [] as string[],
  forceHubConnectivity: false,
  useHub4Internet: false,
  ...extra,
});

// Two hubs and three devices, as the end-to-end test builds them.
const input: OverlayPlanInput = {
  overlay: 'ol1',
  proposals,
  ranges,
  hubs: [
    { name: 'hub-b', publicIps: ['198.18.0.12'], oip: '10.200.0.2' },
    { name: 'hub-a', publicIps: ['198.18.0.11'], oip: '10.200.0.1' },
  ],
  devices: [
    dev('edge-1', { publicIps: ['198.18.0.21'], oip: '10.200.0.3' }),
    dev('edge-2', { publicIps: ['198.18.0.22'], oip: '10.200.0.4' }),
    dev('edge-nat', { proxyHub: 'hub-a', proxyHubPort: 10000, useHub4Internet: true }),
  ],
  hubDevices: [
    { hub: 'hub-a', device: 'edge-nat', isDelegateHub: true, oip: '10.200.0.5' },
    { hub: 'hub-b', device: 'edge-1', isDelegateHub: false, oip: '10.200.0.6' },
  ],
};

const siteOf = (plan: ReturnType<typeof planOverlay>, key: string): SiteConfig =>
  plan.sites.find((s) => `${s.site.type}.${s.site.name}` === key)!;

describe('planOverlay', () => {
  const plan = planOverlay(input);

  it('names every connection as SCC does, with its ends', () => {
    assert.deepEqual(
      plan.connections.map((c) => [c.name, c.kind, c.end1.ip, c.end2.ip]),
      [
        ['Hub.hub-a-Hub.hub-b', 'hub-to-hub', '198.18.0.11', '198.18.0.12'],
        ['Device.edge-1-Device.edge-2', 'device-to-device', '198.18.0.21', '198.18.0.22'],
        ['Hub.hub-a-Device.edge-nat', 'hub-to-device', '198.18.0.11', '10.200.0.5'],
        ['Hub.hub-b-Device.edge-1', 'hub-to-device', '198.18.0.12', '10.200.0.6'],
      ],
    );
    assert.ok(plan.connections.every((c) => !c.blocked));
  });

  it('meshes the hubs, the smaller name initiating, every proposal offered', () => {
    const [a] = siteOf(plan, 'Hub.hub-a').tunnels.filter((t) => t.peer.name === 'hub-b');
    const [b] = siteOf(plan, 'Hub.hub-b').tunnels.filter((t) => t.peer.name === 'hub-a');
    assert.equal(a!.role, 'initiator');
    assert.equal(b!.role, 'responder');
    assert.deepEqual(a!.ikeProposals, ['aes256-sha256-modp4096', 'aes128gcm16-prfsha256-x25519']);
    assert.deepEqual(a!.espProposals, ['aes256-sha256-modp4096', 'aes128gcm16-x25519']);
    assert.deepEqual([a!.localId, a!.remoteId], ['CN=hub-hub-a-cert', 'CN=hub-hub-b-cert']);
    // Each side carries its own OIP and its devices' OIPs; the two ends mirror each other.
    assert.deepEqual(a!.localTs, ['10.200.0.1/32', '10.200.0.5/32']);
    assert.deepEqual(a!.remoteTs, ['10.200.0.2/32', '10.200.0.6/32']);
    assert.deepEqual([b!.localTs, b!.remoteTs], [a!.remoteTs, a!.localTs]);
    assert.deepEqual(a!.remoteAddrs, ['198.18.0.12']);
  });

  it('gives devices with public IPs direct tunnels to each other, not the one behind NAT', () => {
    const e1 = siteOf(plan, 'Device.edge-1');
    const direct = e1.tunnels.filter((t) => t.peer.type === 'Device');
    assert.deepEqual(
      direct.map((t) => [t.peer.name, t.role, t.localTs, t.remoteTs]),
      [['edge-2', 'initiator', ['10.200.0.3/32'], ['10.200.0.4/32']]],
    );
    assert.equal(siteOf(plan, 'Device.edge-nat').tunnels.filter((t) => t.peer.type === 'Device').length, 0);
    assert.equal(deviceMode(input.devices[2]!), 2);
    assert.equal(deviceMode({ publicIps: ['1.2.3.4'], forceHubConnectivity: true }), 2);
  });

  it('lets the NAT-ed device initiate to its hub and receive its OIP by configuration payload', () => {
    const d = siteOf(plan, 'Device.edge-nat').tunnels[0]!;
    const h = siteOf(plan, 'Hub.hub-a').tunnels.find((t) => t.peer.name === 'edge-nat')!;
    assert.deepEqual(
      [d.role, d.requestVip, d.localAddrs, d.remoteAddrs],
      ['initiator', true, ['%any'], ['198.18.0.11']],
    );
    assert.deepEqual(
      [h.role, h.pool, h.remoteAddrs, h.remoteTs],
      ['responder', '10.200.0.5', ['%any'], ['10.200.0.5/32']],
    );
    // useHub4Internet: everything goes to the hub, which masquerades it; its proxy port reaches 6443.
    assert.deepEqual(d.remoteTs, ['0.0.0.0/0']);
    const hub = siteOf(plan, 'Hub.hub-a');
    assert.deepEqual(hub.snat, ['10.200.0.5/32']);
    assert.deepEqual(hub.dnat, [{ port: 10000, to: '10.200.0.5', toPort: 6443 }]);
    assert.deepEqual(siteOf(plan, 'Device.edge-nat').routes, [
      { dst: '10.200.0.0/24', src: '10.200.0.5' },
      { dst: '0.0.0.0/0', src: '10.200.0.5' },
    ]);
    assert.deepEqual(siteOf(plan, 'Device.edge-nat').underlay, ['198.18.0.11']);
  });

  it('routes a public device through its hub from the hub-given OIP, and to direct peers from its own', () => {
    assert.deepEqual(siteOf(plan, 'Device.edge-1').routes, [
      { dst: '10.200.0.0/24', src: '10.200.0.6' },
      { dst: '10.200.0.4/32', src: '10.200.0.3' },
    ]);
    assert.deepEqual(siteOf(plan, 'Hub.hub-b').routes, [{ dst: '10.200.0.0/24', src: '10.200.0.2' }]);
    assert.deepEqual(siteOf(plan, 'Hub.hub-b').overlayIps, ['10.200.0.2']);
  });

  it('drops a deleted hub-device connection with its tunnels, selectors and NAT', () => {
    const after = planOverlay({ ...input, hubDevices: input.hubDevices.slice(1) });
    assert.equal(
      after.connections.find((c) => c.name === 'Hub.hub-a-Device.edge-nat'),
      undefined,
    );
    const hub = siteOf(after, 'Hub.hub-a');
    assert.deepEqual(
      hub.tunnels.map((t) => t.peer.name),
      ['hub-b'],
    );
    assert.deepEqual(hub.tunnels[0]!.localTs, ['10.200.0.1/32']);
    assert.deepEqual([hub.dnat, hub.snat], [[], []]);
    assert.deepEqual(siteOf(after, 'Device.edge-nat').tunnels, []);
    assert.deepEqual(siteOf(after, 'Device.edge-nat').routes, []);
  });

  it('says why a connection has no tunnel', () => {
    const none = planOverlay({ ...input, proposals: [] });
    assert.ok(none.connections.every((c) => c.blocked === 'the overlay has no proposals'));
    assert.ok(none.sites.every((s) => s.tunnels.length === 0));
    const noOip = planOverlay({
      ...input,
      hubDevices: [{ hub: 'hub-a', device: 'edge-nat', isDelegateHub: false }],
    });
    assert.match(noOip.connections.find((c) => c.kind === 'hub-to-device')!.blocked!, /no free overlay IP/);
  });

  it('is a function of its input: the same plan whatever the order', () => {
    const shuffled = planOverlay({
      ...input,
      hubs: [...input.hubs].reverse(),
      devices: [...input.devices].reverse(),
      hubDevices: [...input.hubDevices].reverse(),
    });
    assert.deepEqual(shuffled, plan);
  });
});
