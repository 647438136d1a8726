import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SkywayError } from './errors.js';
import { maxNamespaceList, validateNamespaceList, validateNamespaceName } from './namespace-name.js';

const refused = (field: string) => (e: unknown) =>
  e instanceof SkywayError && e.code === 'INVALID_ARGUMENT' && e.field === field;

describe('namespace names', () => {
  it('accepts RFC 1123 labels', () => {
    for (const n of ['default', 'a', 'team-1', '0x', 'a'.repeat(63)])
      assert.equal(validateNamespaceName(n), n);
  });

  it('refuses anything else, naming the field and never echoing a huge value', () => {
    for (const n of ['', '\u0000', '../../etc/passwd', 'Default', '-a', 'a-', 'a.b', 'a'.repeat(64), 7]) {
      assert.throws(() => validateNamespaceName(n, 'namespaces[0]'), refused('namespaces[0]'), String(n));
    }
    try {
      validateNamespaceName('x'.repeat(1 << 20));
    } catch (e) {
      assert.ok((e as Error).message.length < 300);
    }
  });

  it('bounds lists and lets * stand alone', () => {
    assert.deepEqual(validateNamespaceList(['a', 'b', 'a']), ['a', 'b']);
    assert.deepEqual(validateNamespaceList(['*'], 'namespaces', true), ['*']);
    assert.throws(() => validateNamespaceList(['*']), refused('namespaces[0]'));
    assert.throws(() => validateNamespaceList(['*', 'a'], 'namespaces', true), refused('namespaces'));
    assert.throws(
      () => validateNamespaceList(Array.from({ length: maxNamespaceList + 1 }, (_, i) => `n${i}`)),
      refused('namespaces'),
    );
    assert.throws(() => validateNamespaceList(['ok', '']), refused('namespaces[1]'));
  });
});
