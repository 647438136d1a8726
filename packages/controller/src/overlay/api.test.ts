// Every /scc/v1 route with good and bad bodies, and the status codes SCC
// answers (or Skyway's where SCC answers 500).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type SccRig, startSccRig } from './testing.js';

const meta = (name: string) => ({ metadata: { name, description: 'd', userData1: 'u1', userData2: 'u2' } });
const O = '/scc/v1/overlays';

describe('SCC API', () => {
  let r: SccRig;
  before(async () => {
    r = await startSccRig();
  });
  after(() => r.close());

  const expect = async (
    method: string,
    url: string,
    body: unknown,
    status: number,
    code?: string,
    field?: string,
  ) => {
    const res = await r.call(method, url, body);
    assert.equal(res.status, status, `${method} ${url}: ${JSON.stringify(res.json)}`);
    if (code) assert.equal(res.json.error.code, code, `${method} ${url}`);
    if (field) assert.equal(res.json.error.field, field, `${method} ${url}`);
    return res.json;
  };

  test('overlays: create, list, get, update, delete', async () => {
    const made = await expect('POST', O, meta('ol1'), 201);
    assert.deepEqual(made, { ...meta('ol1'), spec: {} });
    await expect('POST', O, meta('ol1'), 409, 'ALREADY_EXISTS');
    await expect('POST', O, undefined, 400, 'EMPTY_BODY');
    await expect('POST', O, '{"metadata": {"name": ', 422, 'VALIDATION_FAILED');
    await expect('POST', O, { metadata: { name: 'Bad_Name' } }, 422, 'VALIDATION_FAILED', 'metadata.name');
    await expect(
      'POST',
      O,
      { metadata: { name: 'x', colour: 'red' } },
      422,
      'VALIDATION_FAILED',
      'metadata.colour',
    );
    assert.deepEqual(
      (await expect('GET', O, undefined, 200)).map((o: any) => o.metadata.name),
      ['ol1'],
    );
    await expect('GET', `${O}/ol1`, undefined, 200);
    await expect('GET', `${O}/nope`, undefined, 404, 'NOT_FOUND');
    const upd = await expect('PUT', `${O}/ol1`, { metadata: { name: 'ol1', description: 'new' } }, 200);
    assert.equal(upd.metadata.description, 'new');
    await expect(
      'PUT',
      `${O}/ol1`,
      { metadata: { name: 'other' } },
      422,
      'VALIDATION_FAILED',
      'metadata.name',
    );
    await expect('PUT', `${O}/nope`, meta('nope'), 404);
    await expect('POST', O, meta('ol-tmp'), 201);
    await expect('DELETE', `${O}/ol-tmp`, undefined, 204);
    await expect('DELETE', `${O}/ol-tmp`, undefined, 404);
  });

  test('proposals', async () => {
    const p = { ...meta('p1'), spec: { encryption: 'aes256', hash: 'sha256', dhGroup: 'modp4096' } };
    await expect('POST', `${O}/ol1/proposals`, p, 201);
    await expect('POST', `${O}/ol1/proposals`, p, 409, 'ALREADY_EXISTS');
    await expect('POST', `${O}/nope/proposals`, p, 404, 'NOT_FOUND');
    await expect('POST', `${O}/ol1/proposals`, { ...meta('p2') }, 422, 'VALIDATION_FAILED', 'spec');
    await expect(
      'POST',
      `${O}/ol1/proposals`,
      { ...meta('p2'), spec: { ...p.spec, hash: 'sha3' } },
      422,
      'VALIDATION_FAILED',
      'spec.hash',
    );
    await expect(
      'POST',
      `${O}/ol1/proposals`,
      { ...meta('p2'), spec: { ...p.spec, dhGroup: 7 } },
      422,
      'VALIDATION_FAILED',
      'spec.dhGroup',
    );
    assert.equal((await expect('GET', `${O}/ol1/proposals`, undefined, 200)).length, 1);
    await expect('GET', `${O}/ol1/proposals/p1`, undefined, 200);
    await expect('GET', `${O}/ol1/proposals/p9`, undefined, 404);
    const u = await expect(
      'PUT',
      `${O}/ol1/proposals/p1`,
      { ...p, spec: { ...p.spec, encryption: 'aes128' } },
      200,
    );
    assert.equal(u.spec.encryption, 'aes128');
    await expect('DELETE', `${O}/ol1/proposals/p1`, undefined, 204);
    await expect('POST', `${O}/ol1/proposals`, p, 201);
  });

  test('ip ranges: any prefix, no overlap (409), no PUT (405), in use (409)', async () => {
    await expect(
      'POST',
      '/scc/v1/provider/ipranges',
      { ...meta('prov'), spec: { subnet: '10.99.0.0/16' } },
      201,
    );
    await expect(
      'PUT',
      '/scc/v1/provider/ipranges/prov',
      { ...meta('prov'), spec: { subnet: '10.99.0.0/16' } },
      405,
      'METHOD_NOT_ALLOWED',
    );
    await expect('GET', '/scc/v1/provider/ipranges/prov', undefined, 200);
    await expect(
      'POST',
      `${O}/ol1/ipranges`,
      { ...meta('bad'), spec: { subnet: '10.99.3.0/24' } },
      409,
      'ADDRESS_OVERLAP',
    );
    await expect(
      'POST',
      `${O}/ol1/ipranges`,
      { ...meta('bad'), spec: { subnet: '10.98.0.1', minIp: 0 } },
      422,
      'VALIDATION_FAILED',
      'spec.minIp',
    );
    await expect(
      'POST',
      `${O}/ol1/ipranges`,
      { ...meta('bad'), spec: { subnet: 'ten' } },
      422,
      'INVALID_CIDR',
      'spec.subnet',
    );
    await expect('POST', `${O}/ol1/ipranges`, { ...meta('ipr'), spec: { subnet: '10.200.0.0/24' } }, 201);
    await expect(
      'POST',
      `${O}/ol1/ipranges`,
      { ...meta('ipr2'), spec: { subnet: '10.200.0.1', minIp: 200, maxIp: 210 } },
      409,
      'ADDRESS_OVERLAP',
    );
    await expect('PUT', `${O}/ol1/ipranges/ipr`, { ...meta('ipr'), spec: { subnet: '10.200.0.0/24' } }, 405);
    assert.equal((await expect('GET', `${O}/ol1/ipranges`, undefined, 200)).length, 1);
    await expect('DELETE', '/scc/v1/provider/ipranges/prov', undefined, 204);
  });

  test('hubs, devices, connections and their objects', async () => {
    const kube = Buffer.from('apiVersion: v1\nkind: Config\n').toString('base64');
    await expect(
      'POST',
      `${O}/ol1/hubs`,
      { ...meta('hub-a'), spec: { publicIps: ['198.18.0.11'], kubeConfig: kube } },
      201,
    );
    await expect('POST', `${O}/ol1/hubs`, { ...meta('hub-b'), spec: { publicIps: ['198.18.0.12'] } }, 201);
    await expect(
      'POST',
      `${O}/ol1/hubs`,
      { ...meta('hub-c'), spec: { publicIps: [] } },
      422,
      'VALIDATION_FAILED',
      'spec.publicIps',
    );
    await expect(
      'POST',
      `${O}/ol1/hubs`,
      { ...meta('hub-c'), spec: { publicIps: ['1.2.3'] } },
      422,
      'INVALID_CIDR',
      'spec.publicIps[0]',
    );
    await expect(
      'POST',
      `${O}/ol1/hubs`,
      { ...meta('hub-c'), spec: { publicIps: ['1.2.3.4'], kubeConfig: 'not base64!' } },
      422,
      'VALIDATION_FAILED',
      'spec.kubeConfig',
    );
    const hub = await expect('GET', `${O}/ol1/hubs/hub-a`, undefined, 200);
    assert.equal(hub.spec.kubeConfig, undefined, 'kubeconfigs are never answered');
    assert.deepEqual(hub.spec.publicIps, ['198.18.0.11']);
    await expect(
      'PUT',
      `${O}/ol1/hubs/hub-a`,
      { ...meta('hub-a'), spec: { publicIps: ['198.18.0.11'] } },
      200,
    );

    await expect(
      'POST',
      `${O}/ol1/devices`,
      { ...meta('edge-1'), spec: { publicIps: ['198.18.0.21'] } },
      201,
    );
    await expect(
      'POST',
      `${O}/ol1/devices`,
      { ...meta('edge-2'), spec: { publicIps: ['198.18.0.22'] } },
      201,
    );
    const nat = await expect(
      'POST',
      `${O}/ol1/devices`,
      { ...meta('edge-nat'), spec: { forceHubConnectivity: true, proxyHub: 'hub-a', useHub4Internet: true } },
      201,
    );
    assert.equal(nat.spec.proxyHubPort, 10000, 'a proxy port is allocated when not given');
    assert.equal(nat.status.Mode, 2);
    await expect(
      'POST',
      `${O}/ol1/devices`,
      { ...meta('edge-x'), spec: { proxyHubPort: 65536 } },
      422,
      'VALIDATION_FAILED',
      'spec.proxyHubPort',
    );
    await expect(
      'POST',
      `${O}/ol1/devices`,
      { ...meta('edge-x'), spec: { proxyHub: 'hub-z' } },
      404,
      'NOT_FOUND',
    );
    await expect('POST', `${O}/ol1/devices`, { ...meta('hub-a'), spec: {} }, 409, 'ALREADY_EXISTS');
    await expect(
      'POST',
      `${O}/ol1/devices`,
      { ...meta('edge-x'), spec: { forceHubConnectivity: 'yes' } },
      422,
      'VALIDATION_FAILED',
      'spec.forceHubConnectivity',
    );

    // Not registered (no agent) is a 409; a duplicate connection too; missing ends are 404s.
    const conn = { ...meta('c1'), spec: { device: 'edge-nat', isDelegateHub: true } };
    await expect('POST', `${O}/ol1/hubs/hub-a/devices`, conn, 409, 'NOT_REGISTERED');
    r.registered.add('edge-nat');
    r.registered.add('edge-1');
    await expect('POST', `${O}/ol1/hubs/hub-a/devices`, conn, 201);
    await expect('POST', `${O}/ol1/hubs/hub-a/devices`, conn, 409, 'ALREADY_EXISTS');
    await expect('POST', `${O}/ol1/hubs/hub-b/devices`, { device: 'edge-1' }, 201);
    await expect('POST', `${O}/ol1/hubs/hub-z/devices`, conn, 404);
    await expect('POST', `${O}/ol1/hubs/hub-a/devices`, { spec: { device: 'ghost' } }, 404);
    await expect(
      'POST',
      `${O}/ol1/hubs/hub-a/devices`,
      { spec: {} },
      422,
      'VALIDATION_FAILED',
      'spec.device',
    );
    await expect('POST', `${O}/ol1/hubs/hub-a/devices`, undefined, 400, 'EMPTY_BODY');

    const dev = await expect('GET', `${O}/ol1/devices/edge-nat`, undefined, 200);
    assert.deepEqual(dev.status, {
      Mode: 2,
      Ip: '10.200.0.5',
      DataIps: { 'Hub.hub-a': '10.200.0.5' },
      Data: { RegStatus: 'success' },
      DelegatedHub: 'hub-a',
    });
    const hubConns = await expect('GET', `${O}/ol1/hubs/hub-a/connections`, undefined, 200);
    assert.deepEqual(
      hubConns.map((c: any) => [c.metadata.name, c.information.end2.ip, c.information.state]),
      [
        ['Hub.hub-a-Hub.hub-b', '198.18.0.12', 'pending'],
        ['Hub.hub-a-Device.edge-nat', '10.200.0.5', 'pending'],
      ],
    );
    const devConns = await expect('GET', `${O}/ol1/devices/edge-1/connections`, undefined, 200);
    assert.deepEqual(
      devConns.map((c: any) => c.metadata.name),
      ['Device.edge-1-Device.edge-2', 'Hub.hub-b-Device.edge-1'],
    );
    await expect('GET', `${O}/ol1/devices/ghost/connections`, undefined, 404);

    // Parents with children: 409 IN_USE.
    await expect('DELETE', `${O}/ol1/hubs/hub-a`, undefined, 409, 'IN_USE');
    await expect('DELETE', `${O}/ol1/devices/edge-nat`, undefined, 409, 'IN_USE');
    await expect('DELETE', `${O}/ol1/ipranges/ipr`, undefined, 409, 'IN_USE');
    await expect('DELETE', `${O}/ol1`, undefined, 409, 'IN_USE');

    await expect('DELETE', `${O}/ol1/hubs/hub-a/devices/edge-nat`, undefined, 204);
    await expect('DELETE', `${O}/ol1/hubs/hub-a/devices/edge-nat`, undefined, 404);
    const after = await expect('GET', `${O}/ol1/devices/edge-nat`, undefined, 200);
    assert.deepEqual(after.status.DataIps, {}, 'the OIP is freed');
  });

  test('certificates: answered once with the key, no PUT', async () => {
    const c = await expect('POST', `${O}/ol1/certificates`, meta('device1'), 201);
    assert.match(c.data.cert, /BEGIN CERTIFICATE/);
    assert.match(c.data.key, /BEGIN PRIVATE KEY/);
    assert.equal((c.data.ca.match(/BEGIN CERTIFICATE/g) ?? []).length, 2, 'overlay CA and the controller CA');
    const got = await expect('GET', `${O}/ol1/certificates/device1`, undefined, 200);
    assert.equal(got.data, undefined);
    assert.equal(
      JSON.stringify(await expect('GET', `${O}/ol1/certificates`, undefined, 200)).includes('PRIVATE'),
      false,
    );
    await expect(
      'POST',
      `${O}/ol1/certificates`,
      { ...meta('c2'), spec: { clusterType: 'Router' } },
      422,
      'VALIDATION_FAILED',
      'spec.clusterType',
    );
    await expect('PUT', `${O}/ol1/certificates/device1`, meta('device1'), 405);
    await expect('DELETE', `${O}/ol1/certificates/device1`, undefined, 204);
  });

  test('scoped tokens: an overlay belongs to a namespace', async () => {
    const other = await r.token('operator', ['other']);
    const viewer = await r.token('viewer', ['default']);
    assert.equal((await r.call('GET', `${O}/ol1`, undefined, other)).status, 403);
    assert.deepEqual((await r.call('GET', O, undefined, other)).json, []);
    assert.equal((await r.call('GET', `${O}/ol1`, undefined, viewer)).status, 200);
    const px = { ...meta('x'), spec: { encryption: 'aes256', hash: 'sha256', dhGroup: 'modp2048' } };
    assert.equal((await r.call('POST', `${O}/ol1/proposals`, px, viewer)).status, 403);
    const mine = await r.call('POST', O, meta('ol-other'), other);
    assert.equal(mine.status, 201);
    assert.equal((await r.overlays.overlayRow('ol-other')).namespace, 'other');
    assert.equal(
      (
        await r.call(
          'POST',
          '/scc/v1/provider/ipranges',
          { ...meta('p'), spec: { subnet: '10.1.0.0/24' } },
          other,
        )
      ).status,
      403,
    );
  });
});
