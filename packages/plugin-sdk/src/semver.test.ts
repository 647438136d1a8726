import assert from 'node:assert/strict';
import { it } from 'node:test';
import { compareSemver, isSemver } from './semver.js';

it('validates and orders semver versions', () => {
  for (const v of ['1.0.0', '0.0.1-alpha.1', '10.20.30+build.5']) assert.ok(isSemver(v), v);
  for (const v of ['1.0', 'v1.0.0', '01.0.0', '1.0.0-']) assert.ok(!isSemver(v), v);
  const order = [
    '1.0.0-alpha',
    '1.0.0-alpha.1',
    '1.0.0-alpha.beta',
    '1.0.0-beta',
    '1.0.0-beta.2',
    '1.0.0-beta.11',
    '1.0.0-rc.1',
    '1.0.0',
    '1.2.0',
    '1.10.0',
    '2.0.0',
  ];
  const shuffled = [...order].reverse();
  assert.deepEqual(shuffled.sort(compareSemver), order);
  assert.equal(compareSemver('1.0.0+a', '1.0.0+b'), 0);
});
