import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay } from './backoff.js';

test('grows exponentially, is capped, and is jittered', () => {
  assert.equal(backoffDelay(0, { random: () => 0 }), 250);
  assert.equal(backoffDelay(0, { random: () => 1 }), 500);
  assert.equal(backoffDelay(3, { random: () => 0 }), 2000);
  assert.equal(backoffDelay(100, { random: () => 1 }), 30_000);
  const seen = new Set(Array.from({ length: 20 }, () => backoffDelay(4)));
  assert.ok(seen.size > 5);
  for (const d of seen) assert.ok(d >= 4000 && d <= 8000);
});
