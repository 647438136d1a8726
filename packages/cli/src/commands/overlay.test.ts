// `skyway overlay apply/delete -f` with ewoctl's own example files, against
// the SCC API on a real socket.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, describe, test } from 'node:test';
import { type SccRig, startSccRig } from '@skyway/controller';
import { ApiError, createApiClient } from '../client.js';
import { applyResources, deleteResources, parseEwoFile, resourcePath } from './overlay.js';

const examples = new URL('../../../controller/src/overlay/ewoctl-examples/', import.meta.url);
const file = (name: string) => parseEwoFile(readFileSync(new URL(name, examples), 'utf8'));

describe('skyway overlay apply/delete -f (ewoctl files)', () => {
  let rig: SccRig | undefined;
  afterEach(async () => {
    await rig?.app.close();
    await rig?.close().catch(() => {});
    rig = undefined;
  });
  const start = async () => {
    rig = await startSccRig();
    const url = await rig.app.listen({ host: '127.0.0.1', port: 0 });
    return createApiClient({ url, token: await rig.token('admin') });
  };

  test('reads the documents as ewoctl does', () => {
    const t = file('test.yaml');
    assert.deepEqual(
      t.map((r) => r.anchor),
      [
        'overlays',
        'overlays/overlay1/proposals',
        'overlays/overlay1/ipranges',
        'overlays/overlay1/certificates',
      ],
    );
    assert.deepEqual(t[0]!.body, { metadata: { name: 'overlay1' } }, 'empty metadata fields are left out');
    assert.deepEqual(t[2]!.body.spec, { subnet: '192.168.0.2', minIp: 10, maxIp: 100 });
    const conn = file('sample-hub-edge-connection-registration.yaml')[0]!;
    assert.equal(resourcePath(conn), 'overlays/overlay1/hubs/huba/devices/edge-1');
    const expanded = parseEwoFile(
      'resourceContext:\n  anchor: overlays/o/hubs\nmetadata:\n  name: h\nspec:\n  kubeConfig: "b64en:file:/kc"\n',
      (p) => `read ${p}`,
    );
    assert.equal(expanded[0]!.body.spec!.kubeConfig, Buffer.from('read /kc').toString('base64'));
    assert.throws(() => parseEwoFile('metadata:\n  name: x\n'), /resourceContext.anchor/);
  });

  test('overlay.yaml and test.yaml apply, re-apply and delete', async () => {
    const client = await start();
    assert.deepEqual(
      (await applyResources(client, file('overlay.yaml'))).map((o) => o.result),
      ['created', 'created'],
    );
    const made = await applyResources(client, file('test.yaml'));
    assert.deepEqual(
      made.map((o) => [o.method, o.result]),
      [
        ['PUT', 'updated'],
        ['POST', 'created'],
        ['POST', 'created'],
        ['POST', 'created'],
      ],
    );
    const again = await applyResources(client, file('test.yaml'));
    assert.deepEqual(
      again.map((o) => o.result),
      ['updated', 'updated', 'exists (no update for it)', 'exists (no update for it)'],
    );
    const ranges = await client.get<Array<{ spec: { subnet: string } }>>(
      '/scc/v1/overlays/overlay1/ipranges',
    );
    assert.equal(ranges[0]!.spec.subnet, '192.168.0.2');
    const gone = await deleteResources(client, file('test.yaml'));
    assert.deepEqual(
      gone.map((o) => [o.path, o.result]),
      [
        ['overlays/overlay1/certificates/device1', 'deleted'],
        ['overlays/overlay1/ipranges/iprange1', 'deleted'],
        ['overlays/overlay1/proposals/proposal1', 'deleted'],
        ['overlays/overlay1', 'deleted'],
      ],
    );
    await deleteResources(client, file('overlay.yaml'));
    assert.deepEqual(await client.get('/scc/v1/overlays'), []);
  });

  test('the test-cases: prerequisites and a hub apply; the edge file is refused naming its port', async () => {
    const client = await start();
    await applyResources(client, file('prerequisites.yaml'));
    await applyResources(client, file('sample-hub-registration.yaml'));
    const hub = await client.get<{ spec: Record<string, unknown> }>('/scc/v1/overlays/overlay1/hubs/huba');
    assert.deepEqual(hub.spec.publicIps, ['10.10.70.39']);
    // The sample's proxyHubPort is 65536, which is no TCP port.
    await assert.rejects(
      applyResources(client, file('sample-edge-registration.yaml')),
      (e: unknown) => e instanceof ApiError && e.status === 422 && e.field === 'spec.proxyHubPort',
    );
    await assert.rejects(
      applyResources(client, file('sample-hub-edge-connection-registration.yaml')),
      (e: unknown) => e instanceof ApiError && e.status === 404 && /edge-1/.test(e.message),
    );
    await deleteResources(client, file('sample-hub-registration.yaml'));
    const out = await deleteResources(client, file('prerequisites.yaml'));
    assert.deepEqual(
      out.map((o) => o.result),
      ['deleted', 'deleted', 'deleted', 'deleted', 'deleted'],
    );
  });
});
