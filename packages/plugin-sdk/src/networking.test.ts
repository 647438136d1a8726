import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SkywayError } from '@skyway/core';
import { findNetworkingKey, parseResourceDescription } from './networking.js';

const bytes = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

it('finds networking keys at any depth, in any spelling', () => {
  assert.equal(findNetworkingKey({ location: 'x', properties: { hardwareProfile: {} } }), undefined);
  assert.deepEqual(findNetworkingKey({ properties: { networkProfile: {} } }), {
    key: 'networkProfile',
    path: 'properties.networkProfile',
  });
  assert.deepEqual(findNetworkingKey({ a: [{ network_interfaces: [] }] }), {
    key: 'network_interfaces',
    path: 'a[0].network_interfaces',
  });
  assert.equal(findNetworkingKey({ SubnetId: 's' })?.key, 'SubnetId');
  assert.equal(findNetworkingKey({ VPC: 'v' })?.key, 'VPC');
  assert.equal(findNetworkingKey({ networkingMode: 'x', hostname: 'n' }), undefined, 'only whole keys count');
});

it('parses descriptions and refuses networking with the key named', () => {
  assert.deepEqual(parseResourceDescription(bytes({ size: 'small' })), { size: 'small' });
  assert.deepEqual(parseResourceDescription(new Uint8Array()), {});
  assert.throws(
    () => parseResourceDescription(bytes({ properties: { subnet: 'x' } })),
    (e: unknown) =>
      e instanceof SkywayError &&
      e.code === 'NETWORKING_NOT_ALLOWED' &&
      e.kind === 'InvalidArgument' &&
      e.field === 'description.properties.subnet' &&
      /"subnet"/.test(e.message),
  );
  assert.throws(() => parseResourceDescription(bytes('{')), /not valid UTF-8 JSON/);
  assert.throws(() => parseResourceDescription(bytes([1])), /must be a JSON object/);
});
