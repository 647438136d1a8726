// Plugin keys over the real callback port: each key acts only for the
// (namespace, cloud) it was issued for, and the key-value store is split by both.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Code, ConnectError } from '@connectrpc/connect';
import { connectController } from '@skyway/plugin-sdk';
import { type Harness, startHarness } from '../testing/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const keyFor = async (namespace: string, cloud: string) =>
  (
    await h.services.access.issue(
      `plugin:${namespace}/${cloud}`,
      { kind: 'plugin', plugin: 'fake', bindings: [{ namespace, cloud }] },
      60_000,
    )
  ).token;

const codeOf = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => undefined,
    (x) => x,
  );
  return e === undefined ? 'OK' : Code[ConnectError.from(e).code];
};

function client(token: string) {
  const c = connectController({ url: h.callbackUrl, token });
  after(() => c.close());
  return c.client;
}

test('a plugin key may not connect clouds of another namespace, or two clouds not its own', async () => {
  const otherEast = client(await keyFor('other', 'east'));
  // The issue's finding: any key could connect any pair of clouds in any namespace.
  assert.equal(
    await codeOf(otherEast.connectClouds({ namespace: 'default', cloudA: 'east', cloudB: 'west' })),
    'PermissionDenied',
  );
  const defaultEast = client(await keyFor('default', 'east'));
  assert.equal(
    await codeOf(defaultEast.connectClouds({ namespace: 'default', cloudA: 'west', cloudB: 'north' })),
    'PermissionDenied',
  );
  assert.equal((await h.call('GET', '/api/v1/connections')).json.connections.length, 0, 'nothing changed');
  // Its own cloud with another of its namespace: allowed.
  assert.equal(
    await codeOf(defaultEast.connectClouds({ namespace: 'default', cloudA: 'east', cloudB: 'west' })),
    'OK',
  );
  assert.equal((await h.call('GET', '/api/v1/connections')).json.connections.length, 1);
});

test('the key-value store is keyed by (namespace, cloud): same-named clouds of two namespaces do not share it', async () => {
  const defaultEast = client(await keyFor('default', 'east'));
  const otherEast = client(await keyFor('other', 'east'));
  await defaultEast.setValue({ key: 'vpn-psk', value: 'from-default' });
  // Before: the caller chose the namespace, so "other/east" read default's values by naming it.
  assert.deepEqual(await otherEast.getValue({ key: 'vpn-psk' }), {
    $typeName: 'skyway.controller.v1.GetValueResponse',
    found: false,
    value: '',
  });
  assert.equal(
    await codeOf(otherEast.getValue({ namespace: 'default', cloud: 'east', key: 'vpn-psk' })),
    'PermissionDenied',
  );
  assert.equal(await codeOf(otherEast.setValue({ cloud: 'west', key: 'x', value: 'y' })), 'PermissionDenied');
  await otherEast.setValue({ key: 'vpn-psk', value: 'from-other' });
  assert.equal((await defaultEast.getValue({ key: 'vpn-psk' })).value, 'from-default');
  assert.equal((await otherEast.getValue({ namespace: 'other', key: 'vpn-psk' })).value, 'from-other');
});

test('keys without bindings, API tokens and revoked keys are refused', async () => {
  const unbound = await h.services.access.issue(
    'plugin:old',
    { kind: 'plugin', plugin: 'east' } as never,
    60_000,
  );
  assert.equal(await codeOf(client(unbound.token).findUnusedAsn({})), 'PermissionDenied');
  assert.equal(await codeOf(client(h.adminToken).findUnusedAsn({})), 'PermissionDenied');
  const issued = await h.services.access.issue(
    'plugin:default/west',
    { kind: 'plugin', plugin: 'fake', bindings: [{ namespace: 'default', cloud: 'west' }] },
    60_000,
  );
  const west = client(issued.token);
  assert.equal(await codeOf(west.findUnusedAsn({})), 'OK');
  await h.services.access.revoke(issued.id);
  assert.equal(await codeOf(west.findUnusedAsn({})), 'Unauthenticated');
});
