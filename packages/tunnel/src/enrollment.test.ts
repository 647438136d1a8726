import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { TunnelCa } from './credentials.js';
import { enrollmentHandler } from './enrollment.js';
import { FakeCredentials, fakeStatusOf, silentLogger } from './testing.js';

test('a join token buys one certificate, even for enrollments racing each other', async () => {
  const credentials = new FakeCredentials();
  const { token } = credentials.issue({ kind: 'join', agent: 'edge-1' });
  let signed = 0;
  // Signing takes a moment (as verifying a CSR and signing with the CA key do).
  const ca = {
    certPem: 'CA',
    async signCsr() {
      await new Promise((r) => setTimeout(r, 20));
      signed++;
      return { certPem: `CERT${signed}`, serial: String(signed), notAfter: new Date(Date.now() + 60_000) };
    },
  } as unknown as TunnelCa;
  const handle = enrollmentHandler({
    ca,
    credentials,
    statusOf: fakeStatusOf,
    agentCertTtlMs: 60_000,
    logger: silentLogger,
  });
  const enroll = async () => {
    const req = Object.assign(
      Readable.from([Buffer.from(JSON.stringify({ token, csr: 'CSR', timeMs: Date.now() }))]),
      { method: 'POST', url: '/v1/enroll' },
    ) as unknown as IncomingMessage;
    let status = 0;
    const res = {
      writeHead(s: number) {
        status = s;
      },
      end() {},
    } as unknown as ServerResponse;
    await handle(req, res);
    return status;
  };
  const statuses = await Promise.all([enroll(), enroll(), enroll()]);
  assert.deepEqual(
    statuses.sort((a, b) => a - b),
    [200, 401, 401],
  );
  assert.equal(signed, 1);
});
