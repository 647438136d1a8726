import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { cidrContains, cidrsOverlap, formatCidr, formatIp, parseCidr, parseIp } from './cidr.js';
import { SkywayError } from './errors.js';
import { allocateAsn, allocateBgpPeering, allocatePrefixes } from './ipam.js';

const exhausted = (e: unknown) =>
  e instanceof SkywayError && e.code === 'POOL_EXHAUSTED' && e.kind === 'FailedPrecondition';

/** Random prefixes inside 10.0.0.0/12, dense enough to collide often. */
const arbUsed = fc
  .record({ offset: fc.nat({ max: 2 ** 20 - 1 }), prefix: fc.integer({ min: 14, max: 32 }) })
  .map(({ offset, prefix }) =>
    parseCidr(`${formatIp(parseIp('10.0.0.0') + offset)}/${prefix}`, 'u', { allowHostBits: true }),
  )
  .map(formatCidr);

describe('allocatePrefixes', () => {
  it('takes the lowest free aligned prefix', () => {
    assert.deepEqual(allocatePrefixes({ used: [], sizes: [16] }), ['10.0.0.0/16']);
    assert.deepEqual(allocatePrefixes({ used: ['10.0.0.0/16'], sizes: [16] }), ['10.1.0.0/16']);
    // A /24 in use pushes a /16 to the next /16 boundary but leaves room for a /24 right after it.
    assert.deepEqual(allocatePrefixes({ used: ['10.0.0.0/24'], sizes: [16, 24] }), [
      '10.1.0.0/16',
      '10.0.1.0/24',
    ]);
    assert.deepEqual(allocatePrefixes({ used: ['10.0.0.5'], sizes: [30, 32] }), [
      '10.0.0.0/30',
      '10.0.0.4/32',
    ]);
  });

  it('ignores used space outside the pools and host bits in used entries', () => {
    assert.deepEqual(allocatePrefixes({ used: ['192.168.0.0/16', '10.0.0.9/16'], sizes: [16] }), [
      '10.1.0.0/16',
    ]);
  });

  it('prefers pools in the order given', () => {
    const pools = ['172.16.0.0/12', '10.0.0.0/8'];
    assert.deepEqual(allocatePrefixes({ pools, used: [], sizes: [16] }), ['172.16.0.0/16']);
    assert.deepEqual(allocatePrefixes({ pools, used: ['172.16.0.0/12'], sizes: [16, 24] }), [
      '10.0.0.0/16',
      '10.1.0.0/24',
    ]);
  });

  it('fails with POOL_EXHAUSTED naming the size and pools', () => {
    assert.throws(
      () => allocatePrefixes({ pools: ['10.0.0.0/30'], used: ['10.0.0.1'], sizes: [30] }),
      (e: unknown) =>
        exhausted(e) && (e as Error).message.includes('/30') && (e as Error).message.includes('10.0.0.0/30'),
    );
    assert.throws(() => allocatePrefixes({ pools: ['10.0.0.0/24'], used: [], sizes: [16] }), exhausted);
    assert.throws(
      () => allocatePrefixes({ pools: ['10.0.0.0/31'], used: [], sizes: [32, 32, 32] }),
      exhausted,
    );
  });

  it('can fill a pool exactly', () => {
    assert.deepEqual(allocatePrefixes({ pools: ['10.0.0.0/30'], used: [], sizes: [32, 31, 32] }), [
      '10.0.0.0/32',
      '10.0.0.2/31',
      '10.0.0.1/32',
    ]);
  });

  it('rejects bad input, naming the field', () => {
    const field = (f: string) => (e: unknown) => e instanceof SkywayError && e.field === f;
    assert.throws(() => allocatePrefixes({ used: [], sizes: [33] }), field('sizes[0]'));
    assert.throws(() => allocatePrefixes({ used: [], sizes: [24, 1.5] }), field('sizes[1]'));
    assert.throws(() => allocatePrefixes({ used: ['10.0.0.0/8', 'x'], sizes: [24] }), field('used[1]'));
    assert.throws(
      () => allocatePrefixes({ pools: ['10.0.0.1/8'], used: [], sizes: [24] }),
      field('pools[0]'),
    );
  });

  it('never overlaps used space or itself, stays in the pools, and aligns', () => {
    fc.assert(
      fc.property(
        fc.array(arbUsed, { maxLength: 60 }),
        fc.array(fc.integer({ min: 14, max: 32 }), { minLength: 1, maxLength: 12 }),
        (used, sizes) => {
          const pools = ['10.0.0.0/12', '192.168.0.0/16'];
          let got: string[];
          try {
            got = allocatePrefixes({ pools, used, sizes });
          } catch (e) {
            assert.ok(exhausted(e));
            return;
          }
          assert.equal(got.length, sizes.length);
          got.forEach((g, i) => {
            const c = parseCidr(g); // throws if misaligned
            assert.equal(c.prefix, sizes[i]);
            assert.ok(
              pools.some((p) => cidrContains(p, c)),
              `${g} outside pools`,
            );
            for (const u of used) assert.ok(!cidrsOverlap(u, c), `${g} overlaps used ${u}`);
            for (let j = 0; j < i; j++)
              assert.ok(!cidrsOverlap(got[j] as string, c), `${g} overlaps ${got[j]}`);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('returns the lowest fit (brute-force check on a small pool)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ o: fc.nat(63), p: fc.integer({ min: 27, max: 32 }) }), { maxLength: 10 }),
        fc.integer({ min: 26, max: 32 }),
        (raw, size) => {
          const pool = '10.0.0.0/26';
          const used = raw.map(({ o, p }) =>
            formatCidr(parseCidr(`10.0.0.${o}/${p}`, 'u', { allowHostBits: true })),
          );
          const step = 2 ** (32 - size);
          let expected: string | undefined;
          for (let b = 0; b < 64 && !expected; b += step) {
            const cand = `10.0.0.${b}/${size}`;
            if (!used.some((u) => cidrsOverlap(u, cand))) expected = cand;
          }
          if (expected)
            assert.deepEqual(allocatePrefixes({ pools: [pool], used, sizes: [size] }), [expected]);
          else assert.throws(() => allocatePrefixes({ pools: [pool], used, sizes: [size] }), exhausted);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('is fast with 10,000 used prefixes', () => {
    // Every other /24 of 10.0.0.0/10 taken, so each /24 request sweeps past many spans.
    const used = Array.from({ length: 10000 }, (_, i) =>
      formatCidr({ base: parseIp('10.0.0.0') + i * 512, prefix: 24 }),
    );
    const start = performance.now();
    const got = allocatePrefixes({ used, sizes: [...Array(100).fill(24), 16] });
    const ms = performance.now() - start;
    assert.equal(got[0], '10.0.1.0/24');
    assert.equal(got[100], '10.79.0.0/16');
    assert.ok(ms < 500, `took ${ms} ms`);
    assert.throws(() => allocatePrefixes({ used, sizes: [8] }), exhausted);
  });
});

describe('allocateAsn', () => {
  it('takes the lowest free private ASN', () => {
    assert.equal(allocateAsn([]), 64512);
    assert.equal(allocateAsn([64512, 64513, 64515]), 64514);
    assert.equal(allocateAsn(new Set([1, 65000])), 64512);
  });

  it('moves to the 4-byte range when the 2-byte range is full', () => {
    const full = Array.from({ length: 65534 - 64512 + 1 }, (_, i) => 64512 + i);
    assert.equal(allocateAsn(full), 4200000000);
    assert.equal(allocateAsn([...full, 4200000000]), 4200000001);
  });

  it('never returns a used or non-private ASN', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 64500, max: 65600 }), { maxLength: 1200 }), (used) => {
        const asn = allocateAsn(used);
        assert.ok(!used.includes(asn));
        assert.ok((asn >= 64512 && asn <= 65534) || (asn >= 4200000000 && asn <= 4294967294));
      }),
    );
  });

  it('honours narrower ranges and fails with POOL_EXHAUSTED naming them', () => {
    const ranges = [
      [65000, 65001],
      [65100, 65100],
    ] as const;
    assert.equal(allocateAsn([65000], ranges), 65001);
    assert.equal(allocateAsn([65000, 65001], ranges), 65100);
    assert.throws(
      () => allocateAsn([65000, 65001, 65100], ranges),
      (e: unknown) => exhausted(e) && (e as Error).message.includes('65000-65001, 65100-65100'),
    );
  });
});

describe('allocateBgpPeering', () => {
  it('takes the first /30 outside the reserved ranges', () => {
    assert.deepEqual(allocateBgpPeering([]), {
      network: '169.254.1.4/30',
      a: '169.254.1.5',
      b: '169.254.1.6',
    });
  });

  it('skips any /30 holding a used address', () => {
    assert.deepEqual(allocateBgpPeering(['169.254.1.6', '169.254.1.9']).network, '169.254.1.12/30');
    // 169.254.2.0/30 is one of the /30s AWS refuses.
    assert.deepEqual(allocateBgpPeering(['169.254.1.0/24']).network, '169.254.2.4/30');
  });

  it('uses the AWS-Azure range when asked', () => {
    assert.deepEqual(allocateBgpPeering([], { awsRange: true }), {
      network: '169.254.21.0/30',
      a: '169.254.21.1',
      b: '169.254.21.2',
    });
    assert.equal(allocateBgpPeering(['169.254.21.0/24'], { awsRange: true }).network, '169.254.22.0/30');
    assert.throws(
      () => allocateBgpPeering(['169.254.21.0/24', '169.254.22.0/24'], { awsRange: true }),
      exhausted,
    );
  });

  it('fails with POOL_EXHAUSTED when link-local space is used up', () => {
    assert.throws(() => allocateBgpPeering(['169.254.0.0/16']), exhausted);
  });

  it('never reuses a used address and never enters a reserved range', () => {
    const arbAddr = fc.nat({ max: 2047 }).map((n) => formatIp(parseIp('169.254.0.0') + n));
    fc.assert(
      fc.property(fc.array(arbAddr, { maxLength: 400 }), fc.boolean(), (used, awsRange) => {
        let p: ReturnType<typeof allocateBgpPeering>;
        try {
          p = allocateBgpPeering(used, { awsRange });
        } catch (e) {
          assert.ok(exhausted(e));
          return;
        }
        const net = parseCidr(p.network);
        assert.equal(net.prefix, 30);
        assert.equal(p.a, formatIp(net.base + 1));
        assert.equal(p.b, formatIp(net.base + 2));
        for (const u of used) assert.ok(!cidrContains(p.network, u), `${p.network} holds used ${u}`);
        const pools = awsRange ? ['169.254.21.0/24', '169.254.22.0/24'] : ['169.254.0.0/16'];
        assert.ok(pools.some((pool) => cidrContains(pool, p.network)));
        for (const r of ['169.254.0.0/24', '169.254.255.0/24', '169.254.1.0/30', '169.254.169.252/30']) {
          assert.ok(!cidrsOverlap(r, p.network));
        }
      }),
    );
  });
});
