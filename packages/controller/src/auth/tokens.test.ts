import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryRevocationList, parseDuration, type TokenScope, TokenService } from './tokens.js';

const scope: TokenScope = { kind: 'api', role: 'viewer', namespaces: ['default'] };

test('a token round-trips its scope and expiry', async () => {
  const tokens = await TokenService.open({ revocations: new MemoryRevocationList() });
  const { token, claims } = await tokens.issue({ subject: 'alice', scope, ttlMs: 60_000 });
  const back = await tokens.verify(token);
  assert.deepEqual(back.scope, scope);
  assert.equal(back.id, claims.id);
  assert.ok(back.expiresAt.getTime() > Date.now());
});

test('expired, revoked, tampered and future tokens are refused with reasons', async () => {
  const revocations = new MemoryRevocationList();
  let now = Date.now();
  const tokens = await TokenService.open({ revocations, now: () => now });
  const { token, claims } = await tokens.issue({ subject: 'a', scope, ttlMs: 1_000 });
  now += 5_000;
  await assert.rejects(tokens.verify(token), /expired/);
  now = Date.now();
  const fresh = await tokens.issue({ subject: 'a', scope, ttlMs: 60_000 });
  revocations.revoked.add(fresh.claims.id);
  await assert.rejects(tokens.verify(fresh.token), /revoked/);
  await assert.rejects(tokens.verify(`${token.slice(0, -4)}AAAA`), /not valid/);
  const future = await tokens.issue({ subject: 'a', scope, ttlMs: 3_600_000, issuedAt: now + 10 * 60_000 });
  await assert.rejects(
    tokens.verify(future.token),
    (e: Error & { code?: string }) => e.code === 'CLOCK_SKEW',
  );
  assert.ok(claims.id);
});

test('parseDuration accepts units and names the field when wrong', () => {
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.throws(() => parseDuration('soon', 'ttl'), /ttl must look like/);
});
