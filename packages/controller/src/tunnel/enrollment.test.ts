import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { TokenService } from '../auth/tokens.js';
import type { CertificateAuthority } from '../ca/ca.js';
import { MemoryCredentialRegistry } from '../ca/store.js';
import { enrollmentHandler } from './enrollment.js';

test('a join token buys one certificate, even for enrollments racing each other', async () => {
  const registry = new MemoryCredentialRegistry();
  const tokens = await TokenService.open({ revocations: registry });
  const { token, claims } = await tokens.issue({
    subject: 'agent:edge-1',
    scope: { kind: 'join', agent: 'edge-1' },
    ttlMs: 60_000,
  });
  await registry.record({
    id: claims.id,
    kind: 'token',
    purpose: 'join',
    subject: 'agent:edge-1',
    scope: { agent: 'edge-1' },
    issuedAt: claims.issuedAt.toISOString(),
    expiresAt: claims.expiresAt.toISOString(),
  });
  let signed = 0;
  // Signing takes a moment (as verifying a CSR and signing with the CA key do).
  const ca = {
    certPem: 'CA',
    async signCsr() {
      await new Promise((r) => setTimeout(r, 20));
      signed++;
      return { certPem: `CERT${signed}`, serial: String(signed), notAfter: new Date(Date.now() + 60_000) };
    },
  } as unknown as CertificateAuthority;
  const handle = enrollmentHandler({
    ca,
    tokens,
    registry,
    agentCertTtlMs: 60_000,
    logger: pino({ level: 'silent' }),
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
