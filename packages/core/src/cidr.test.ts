import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  cidrContains,
  cidrEnd,
  cidrSize,
  cidrsOverlap,
  compareCidrs,
  formatCidr,
  formatIp,
  isIpOrCidr,
  normalizeTarget,
  parseCidr,
  parseIp,
} from './cidr.js';
import { SkywayError } from './errors.js';

const arbCidr = fc
  .record({ ip: fc.nat({ max: 0xffffffff }), prefix: fc.integer({ min: 0, max: 32 }) })
  .map(({ ip, prefix }) => parseCidr(`${formatIp(ip)}/${prefix}`, 'c', { allowHostBits: true }));

describe('parseIp / formatIp', () => {
  it('parses and formats the extremes', () => {
    assert.equal(parseIp('0.0.0.0'), 0);
    assert.equal(parseIp('255.255.255.255'), 0xffffffff);
    assert.equal(parseIp('10.1.2.3'), 0x0a010203);
    assert.equal(formatIp(0xffffffff), '255.255.255.255');
  });

  it('rejects malformed addresses, naming the field', () => {
    for (const s of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.0.0.1',
      '01.2.3.4',
      '1.2.3.-1',
      'a.b.c.d',
      ' 1.2.3.4',
      '1.2.3.4/32',
    ]) {
      assert.throws(
        () => parseIp(s, 'vm.ip'),
        (e: unknown) => e instanceof SkywayError && e.code === 'INVALID_CIDR' && e.field === 'vm.ip',
        s,
      );
    }
  });

  it('round-trips every uint32', () => {
    fc.assert(fc.property(fc.nat({ max: 0xffffffff }), (n) => parseIp(formatIp(n)) === n));
  });
});

describe('parseCidr', () => {
  it('parses prefixes and treats a plain address as /32', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), { base: 0x0a000000, prefix: 8 });
    assert.deepEqual(parseCidr('0.0.0.0/0'), { base: 0, prefix: 0 });
    assert.deepEqual(parseCidr('192.168.1.7'), { base: 0xc0a80107, prefix: 32 });
  });

  it('rejects host bits and suggests the network address', () => {
    assert.throws(
      () => parseCidr('10.0.0.1/8', 'rules[0].tags[1]'),
      (e: unknown) =>
        e instanceof SkywayError &&
        e.code === 'INVALID_CIDR' &&
        e.kind === 'InvalidArgument' &&
        e.field === 'rules[0].tags[1]' &&
        e.message.includes('10.0.0.0/8'),
    );
  });

  it('masks host bits when asked to', () => {
    assert.deepEqual(parseCidr('10.0.0.1/8', 'x', { allowHostBits: true }), parseCidr('10.0.0.0/8'));
  });

  it('rejects bad prefix lengths', () => {
    for (const s of [
      '10.0.0.0/33',
      '10.0.0.0/',
      '10.0.0.0/08',
      '10.0.0.0/-1',
      '10.0.0.0/8/8',
      '10.0.0.0/a',
    ]) {
      assert.throws(() => parseCidr(s), SkywayError, s);
    }
  });

  it('round-trips normalized prefixes', () => {
    fc.assert(fc.property(arbCidr, (c) => assert.deepEqual(parseCidr(formatCidr(c)), c)));
  });
});

describe('isIpOrCidr / normalizeTarget', () => {
  it('recognizes literals', () => {
    assert.equal(isIpOrCidr('10.0.0.1'), true);
    assert.equal(isIpOrCidr('10.0.0.0/24'), true);
    assert.equal(isIpOrCidr('10.0.0.1/24'), false);
    assert.equal(isIpOrCidr('web'), false);
  });

  it('normalizes an address to /32 and keeps prefixes', () => {
    assert.equal(normalizeTarget('10.0.0.1'), '10.0.0.1/32');
    assert.equal(normalizeTarget('10.0.0.0/24'), '10.0.0.0/24');
  });
});

describe('containment and overlap', () => {
  it('answers simple cases', () => {
    assert.equal(cidrContains('10.0.0.0/8', '10.2.0.0/16'), true);
    assert.equal(cidrContains('10.2.0.0/16', '10.0.0.0/8'), false);
    assert.equal(cidrContains('0.0.0.0/0', '255.255.255.255'), true);
    assert.equal(cidrsOverlap('10.2.0.0/16', '10.0.0.0/8'), true);
    assert.equal(cidrsOverlap('10.0.0.0/24', '10.0.1.0/24'), false);
    assert.equal(cidrSize('10.0.0.0/24'), 256);
    assert.equal(cidrSize('0.0.0.0/0'), 2 ** 32);
    assert.equal(cidrEnd(parseCidr('10.0.0.0/24')), parseIp('10.0.0.255'));
  });

  it('overlap agrees with interval intersection', () => {
    fc.assert(
      fc.property(arbCidr, arbCidr, (a, b) => {
        const intervals = a.base <= cidrEnd(b) && b.base <= cidrEnd(a);
        assert.equal(cidrsOverlap(a, b), intervals);
        assert.equal(cidrsOverlap(a, b), cidrsOverlap(b, a));
      }),
    );
  });

  it('containment agrees with interval inclusion', () => {
    fc.assert(
      fc.property(arbCidr, arbCidr, (a, b) => {
        assert.equal(cidrContains(a, b), a.base <= b.base && cidrEnd(b) <= cidrEnd(a));
      }),
    );
  });

  it('orders by base, then prefix', () => {
    const sorted = ['10.0.0.0/24', '9.0.0.0/8', '10.0.0.0/8'].map((s) => parseCidr(s)).sort(compareCidrs);
    assert.deepEqual(sorted.map(formatCidr), ['9.0.0.0/8', '10.0.0.0/8', '10.0.0.0/24']);
  });
});
