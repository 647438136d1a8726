// The error catalog and docs/errors.md cannot drift: every code with its
// HTTP status appears in the docs, and the docs name no other code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { errorCatalog } from '@skyway/core';
import { httpOnlyCodes, statusOfKind } from './errors.js';

const docs = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Map(
  [...docs.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])] as const),
);

test('every catalog code is documented with its HTTP status', () => {
  for (const [code, entry] of Object.entries(errorCatalog)) {
    assert.equal(documented.get(code), statusOfKind[entry.kind], `docs/errors.md: ${code}`);
  }
  for (const [code, status] of Object.entries(httpOnlyCodes))
    assert.equal(documented.get(code), status, code);
});

test('the docs name no code the API does not have', () => {
  for (const code of documented.keys()) {
    assert.ok(code in errorCatalog || code in httpOnlyCodes, `docs/errors.md lists unknown code ${code}`);
  }
});
