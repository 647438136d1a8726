import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { ServiceAuthenticator } from './service-auth.js';
import { FakeCredentials, fakeAltNames } from './testing.js';

test('a client certificate that expires while its connection stays open is refused from then on', async () => {
  let now = Date.parse('2030-01-01T00:00:00Z');
  const auth = new ServiceAuthenticator(new FakeCredentials(), () => now);
  const id = { kind: 'service', agent: 'edge-1', serviceType: 'jenkins', serviceName: 'web' } as const;
  const sock = {
    authorized: true,
    getPeerCertificate: () => ({
      subjectaltname: fakeAltNames(id),
      serialNumber: 'ABC123',
      valid_to: 'Jan  1 01:00:00 2030 GMT',
    }),
  } as unknown as TLSSocket;
  const t = auth.authenticateCaller(sock, undefined);
  assert.ok(!(t instanceof Promise));
  assert.equal(t.key, 'jenkins/web');
  now += 2 * 3_600_000;
  assert.throws(() => auth.authenticateCaller(sock, undefined), /expired/);
});
