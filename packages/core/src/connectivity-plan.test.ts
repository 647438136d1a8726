import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { cidrContains, cidrsOverlap, formatIp, parseCidr, parseIp } from './cidr.js';
import { planConnectivity } from './connectivity-plan.js';
import { SkywayError } from './errors.js';

const base = { cloudA: 'lab-east', cloudB: 'lab-west', usedAsns: [], usedBgpPeeringIps: [] };
const failsOn = (field: string | undefined, kind: string) => (e: unknown) =>
  e instanceof SkywayError && e.field === field && e.kind === kind;

describe('planConnectivity', () => {
  it('plans one tunnel by default', () => {
    assert.deepEqual(planConnectivity(base), {
      a: { cloud: 'lab-east', asn: 64512, bgpPeeringIps: ['169.254.1.5'] },
      b: { cloud: 'lab-west', asn: 64513, bgpPeeringIps: ['169.254.1.6'] },
      tunnels: 1,
      networks: ['169.254.1.4/30'],
    });
  });

  it('pairs tunnel i with /30 i, side a on .1 and side b on .2', () => {
    const plan = planConnectivity({ ...base, tunnels: 4, usedBgpPeeringIps: ['169.254.1.9'] });
    assert.deepEqual(plan.networks, [
      '169.254.1.4/30',
      '169.254.1.12/30',
      '169.254.1.16/30',
      '169.254.1.20/30',
    ]);
    assert.deepEqual(plan.a.bgpPeeringIps, ['169.254.1.5', '169.254.1.13', '169.254.1.17', '169.254.1.21']);
    assert.deepEqual(plan.b.bgpPeeringIps, ['169.254.1.6', '169.254.1.14', '169.254.1.18', '169.254.1.22']);
  });

  it('keeps existing gateway ASNs and allocates around them', () => {
    const plan = planConnectivity({ ...base, asnA: 64513, usedAsns: [64512] });
    assert.equal(plan.a.asn, 64513);
    assert.equal(plan.b.asn, 64514);
    assert.equal(planConnectivity({ ...base, asnB: 64512 }).a.asn, 64513);
    assert.throws(
      () => planConnectivity({ ...base, asnA: 65000, asnB: 65000 }),
      failsOn(undefined, 'FailedPrecondition'),
    );
  });

  it('uses the AWS-Azure range when asked', () => {
    const plan = planConnectivity({ ...base, awsRange: true, tunnels: 2 });
    assert.deepEqual(plan.networks, ['169.254.21.0/30', '169.254.21.4/30']);
  });

  it('rejects bad input, naming the field', () => {
    assert.throws(
      () => planConnectivity({ ...base, cloudB: 'lab-east' }),
      failsOn('cloudB', 'InvalidArgument'),
    );
    assert.throws(() => planConnectivity({ ...base, cloudA: '' }), failsOn('cloudA', 'InvalidArgument'));
    for (const tunnels of [0, 5, 1.5]) {
      assert.throws(() => planConnectivity({ ...base, tunnels }), failsOn('tunnels', 'InvalidArgument'));
    }
  });

  it('reports POOL_EXHAUSTED when peering space runs out', () => {
    // Everything but 169.254.22.248/29, which holds two /30s.
    const taken = [
      '169.254.21.0/24',
      '169.254.22.0/25',
      '169.254.22.128/26',
      '169.254.22.192/27',
      '169.254.22.224/28',
    ];
    const input = { ...base, awsRange: true, usedBgpPeeringIps: [...taken, '169.254.22.240/29'] };
    assert.deepEqual(planConnectivity({ ...input, tunnels: 2 }).networks, [
      '169.254.22.248/30',
      '169.254.22.252/30',
    ]);
    assert.throws(
      () => planConnectivity({ ...input, tunnels: 3 }),
      (e: unknown) => e instanceof SkywayError && e.code === 'POOL_EXHAUSTED',
    );
  });

  it('never reuses an ASN or peering address in use, nor overlaps its own tunnels', () => {
    const arbAddr = fc.nat({ max: 1023 }).map((n) => formatIp(parseIp('169.254.0.0') + n));
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 64510, max: 64530 }), { maxLength: 25 }),
        fc.array(arbAddr, { maxLength: 200 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        (usedAsns, usedBgpPeeringIps, tunnels, awsRange) => {
          const plan = planConnectivity({ ...base, usedAsns, usedBgpPeeringIps, tunnels, awsRange });
          assert.notEqual(plan.a.asn, plan.b.asn);
          assert.ok(!usedAsns.includes(plan.a.asn) && !usedAsns.includes(plan.b.asn));
          assert.equal(plan.networks.length, tunnels);
          plan.networks.forEach((net, i) => {
            const c = parseCidr(net);
            assert.equal(c.prefix, 30);
            assert.equal(plan.a.bgpPeeringIps[i], formatIp(c.base + 1));
            assert.equal(plan.b.bgpPeeringIps[i], formatIp(c.base + 2));
            for (const u of usedBgpPeeringIps) assert.ok(!cidrContains(net, u), `${net} holds used ${u}`);
            for (let j = 0; j < i; j++) assert.ok(!cidrsOverlap(net, plan.networks[j] as string));
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('chained plans for a mesh of clouds never collide', () => {
    // Connect every pair of up to 5 clouds in turn, feeding each plan's allocations into the next.
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 4 }), (n, tunnels) => {
        const clouds = Array.from({ length: n }, (_, i) => `c${i}`);
        const gatewayAsn = new Map<string, number>();
        const usedIps: string[] = [];
        const networks: string[] = [];
        for (let i = 0; i < n; i++) {
          for (let j = i + 1; j < n; j++) {
            const [cloudA, cloudB] = [clouds[i] as string, clouds[j] as string];
            const plan = planConnectivity({
              cloudA,
              cloudB,
              usedAsns: gatewayAsn.values(),
              usedBgpPeeringIps: usedIps,
              asnA: gatewayAsn.get(cloudA),
              asnB: gatewayAsn.get(cloudB),
              tunnels,
            });
            gatewayAsn.set(cloudA, plan.a.asn).set(cloudB, plan.b.asn);
            usedIps.push(...plan.a.bgpPeeringIps, ...plan.b.bgpPeeringIps);
            networks.push(...plan.networks);
          }
        }
        assert.equal(new Set(gatewayAsn.values()).size, n);
        for (let x = 0; x < networks.length; x++) {
          for (let y = x + 1; y < networks.length; y++) {
            assert.ok(!cidrsOverlap(networks[x] as string, networks[y] as string));
          }
        }
      }),
    );
  });
});
