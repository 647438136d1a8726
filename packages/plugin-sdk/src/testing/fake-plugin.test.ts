import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, ConnectError } from '@connectrpc/connect';
import { Direction } from '@skyway/proto/plugin';
import { runConformance } from '../conformance.js';
import { fromConnectError } from '../errors.js';
import { connect, inProcess, inProcessController, pluginRoutes, serve } from '../transport.js';
import { createFakeController } from './fake-controller.js';
import { createFakePlugin, fakeGatewayIps } from './fake-plugin.js';

const description = (name: string) =>
  new TextEncoder().encode(JSON.stringify({ name, location: 'lab', properties: { size: 'small' } }));
const deployment = { id: 'lab-1', namespace: 'default' };

runConformance({
  name: 'fake (in-process)',
  setup: async () => ({
    client: inProcess(createFakePlugin({ cloud: 'cloud-a' })),
    deployment,
    resourceDescription: description,
    cleanup: async () => {},
  }),
});

runConformance({
  name: 'fake (gRPC, with a controller)',
  setup: async () => {
    const controller = inProcessController(createFakeController());
    const served = await serve({ routes: pluginRoutes(createFakePlugin({ cloud: 'cloud-b', controller })) });
    const conn = connect({ url: served.url });
    return {
      client: conn.client,
      deployment: { id: 'project-7', namespace: 'team-x' },
      resourceDescription: description,
      cleanup: async () => {
        conn.close();
        await served.close();
      },
    };
  },
});

describe('fake plugin specifics', () => {
  it('takes address spaces and ASNs from the controller when given one', async () => {
    const fc = createFakeController({ used: ['10.0.0.0/16'] });
    const fake = createFakePlugin({ cloud: 'aws', controller: inProcessController(fc) });
    const client = inProcess(fake);
    const r = await client.createResource({ deployment, name: 'vm-a', description: description('vm-a') });
    assert.equal(r.ip, '10.1.0.4');
    assert.deepEqual(fc.addressSpaces, ['10.1.0.0/16']);
    const gw = await client.createVpnGateway({
      deployment,
      cloud: 'gcp',
      bgpPeeringIpAddresses: ['169.254.21.1'],
      asn: 0,
    });
    assert.equal(gw.asn, 64512);
    assert.deepEqual(fc.asns, [64512]);
    assert.deepEqual(gw.gatewayIpAddresses, fakeGatewayIps('aws'));
  });

  it('without a controller uses a fixed 10.x/16 per cloud and a distinct gateway IP per cloud', async () => {
    const a = inProcess(createFakePlugin({ cloud: 'cloud-a' }));
    const b = inProcess(createFakePlugin({ cloud: 'cloud-b' }));
    const ra = await a.createResource({ deployment, name: 'vm', description: description('vm') });
    const rb = await b.createResource({ deployment, name: 'vm', description: description('vm') });
    assert.match(ra.ip, /^10\.\d+\.0\.4$/);
    assert.notEqual(ra.ip.split('.')[1], rb.ip.split('.')[1]);
    assert.notDeepEqual(fakeGatewayIps('cloud-a'), fakeGatewayIps('cloud-b'));
    for (const ip of [...fakeGatewayIps('cloud-a', 2), ...fakeGatewayIps('cloud-b')])
      assert.match(ip, /^198\.1[89]\./);
  });

  it('records both sides of a connection, with the shared key, idempotently', async () => {
    const fake = createFakePlugin({ cloud: 'cloud-a' });
    const client = inProcess(fake);
    await client.createVpnGateway({
      deployment,
      cloud: 'cloud-b',
      bgpPeeringIpAddresses: ['169.254.21.1'],
      asn: 65001,
    });
    const conn = {
      deployment,
      cloud: 'cloud-b',
      asn: 65002,
      gatewayIpAddresses: ['198.18.0.9'],
      bgpIpAddresses: ['169.254.21.2'],
      sharedKey: 'k1',
    };
    await client.createVpnConnections(conn);
    await client.createVpnConnections({ ...conn, sharedKey: 'k2' });
    const s = fake.snapshot();
    assert.equal(s.connections.length, 1);
    assert.equal(s.connections[0]!.sharedKey, 'k2');
    assert.equal(s.gateways[0]!.asn, 65001);
    await client.deleteVpnConnections({ deployment, cloud: 'cloud-b' });
    assert.equal(fake.snapshot().connections.length, 0);
  });

  it('maps domain errors to gRPC codes that map back, over the wire', async () => {
    const served = await serve({ routes: pluginRoutes(createFakePlugin({ cloud: 'c' })) });
    const { client, close } = connect({ url: served.url });
    try {
      const e = await client
        .createResource({ deployment, name: 'x', description: new TextEncoder().encode('{"vpc":"v"}') })
        .catch((x) => x);
      assert.ok(e instanceof ConnectError);
      assert.equal(e.code, Code.InvalidArgument);
      const back = fromConnectError(e);
      assert.equal(back.code, 'NETWORKING_NOT_ALLOWED');
      assert.equal(back.field, 'description.vpc');
      const nf = await client
        .getPermitList({ namespace: 'default', resource: 'fake://nope' })
        .catch((x) => x);
      assert.equal(fromConnectError(nf).code, 'NOT_FOUND');
      const bad = await client
        .createVpnConnections({
          deployment,
          cloud: 'z',
          asn: 1,
          gatewayIpAddresses: ['1.2.3.4'],
          sharedKey: 'k',
        })
        .catch((x) => x);
      assert.equal(fromConnectError(bad).kind, 'FailedPrecondition');
    } finally {
      close();
      await served.close();
    }
  });

  it('validates rules and names the field', async () => {
    const client = inProcess(createFakePlugin({ cloud: 'c' }));
    const r = await client.createResource({ deployment, name: 'vm', description: description('vm') });
    const e = await client
      .addPermitListRules({
        namespace: 'default',
        resource: r.uri,
        rules: [
          {
            name: 'x',
            targets: ['10.0.0.0/8'],
            direction: Direction.INBOUND,
            srcPort: -1,
            dstPort: 70000,
            protocol: 6,
          },
        ],
      })
      .catch((x) => x);
    assert.equal(fromConnectError(e).field, 'rules[0].dst_port');
    const wrongNs = await client.getPermitList({ namespace: 'other', resource: r.uri }).catch((x) => x);
    assert.equal(ConnectError.from(wrongNs).code, Code.NotFound);
  });
});
