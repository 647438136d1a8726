import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SkywayError } from './errors.js';
import {
  diffPermitList,
  hasDrift,
  parseDirection,
  pingRule,
  type Rule,
  type RuleInput,
  ruleSlug,
  sshRule,
  validateRule,
  validateRules,
} from './permit-list.js';

const base: RuleInput = {
  name: 'web-in',
  direction: 'INBOUND',
  src_port: -1,
  dst_port: 443,
  protocol: 6,
  tags: ['web'],
};
const fails = (input: unknown, field: string, text?: string) =>
  assert.throws(
    () => validateRules([base, input as RuleInput]),
    (e: unknown) =>
      e instanceof SkywayError &&
      e.kind === 'InvalidArgument' &&
      e.field === field &&
      e.message.startsWith(field) &&
      (text === undefined || e.message.includes(text)),
    JSON.stringify(input),
  );

describe('parseDirection', () => {
  it('accepts numbers and names in any case', () => {
    assert.equal(parseDirection(0), 'INBOUND');
    assert.equal(parseDirection(1), 'OUTBOUND');
    assert.equal(parseDirection('inbound'), 'INBOUND');
    assert.equal(parseDirection('Outbound'), 'OUTBOUND');
  });

  it('rejects anything else, naming the field', () => {
    for (const v of [2, -1, '0', 'IN', '', null, undefined, true, 0.5]) {
      assert.throws(
        () => parseDirection(v, 'rules[0].direction'),
        (e: unknown) => e instanceof SkywayError && e.field === 'rules[0].direction',
        String(v),
      );
    }
  });
});

describe('validateRule', () => {
  it('normalizes a valid rule', () => {
    assert.deepEqual(validateRule({ ...base, direction: 1, tags: ['web', '10.0.0.1', 'web'] }), {
      name: 'web-in',
      direction: 'OUTBOUND',
      srcPort: -1,
      dstPort: 443,
      protocol: 6,
      tags: ['web', '10.0.0.1/32'],
      targets: [],
    });
  });

  it('ignores client-supplied targets', () => {
    assert.deepEqual(validateRule({ ...base, targets: ['0.0.0.0/0'] }).targets, []);
  });

  it('defaults missing ports to any', () => {
    const { src_port: _s, dst_port: _d, ...rest } = base;
    const r = validateRule(rest);
    assert.equal(r.srcPort, -1);
    assert.equal(r.dstPort, -1);
  });

  it('accepts the range limits', () => {
    for (const protocol of [-1, 0, 255]) validateRule({ ...base, protocol, src_port: -1, dst_port: -1 });
    for (const protocol of [6, 17, 132]) validateRule({ ...base, protocol, src_port: 0, dst_port: 65535 });
    validateRule({ ...base, name: 'a' });
    validateRule({ ...base, name: `a${'-'.repeat(61)}b` });
  });

  it('names the field of each error', () => {
    fails({ ...base, name: 'Web' }, 'rules[1].name', 'lowercase');
    fails({ ...base, name: '' }, 'rules[1].name');
    fails({ ...base, name: '-a' }, 'rules[1].name');
    fails({ ...base, name: 'a-' }, 'rules[1].name');
    fails({ ...base, name: 'a'.repeat(64) }, 'rules[1].name', '1-63');
    fails({ ...base, name: 7 }, 'rules[1].name');
    fails({ ...base, direction: 'up' }, 'rules[1].direction');
    fails({ ...base, protocol: 256 }, 'rules[1].protocol');
    fails({ ...base, protocol: -2 }, 'rules[1].protocol');
    fails({ ...base, protocol: 6.5 }, 'rules[1].protocol');
    fails({ ...base, protocol: '6' }, 'rules[1].protocol');
    fails({ ...base, protocol: undefined }, 'rules[1].protocol');
    fails({ ...base, src_port: 65536 }, 'rules[1].src_port');
    fails({ ...base, dst_port: -5 }, 'rules[1].dst_port');
    fails({ ...base, dst_port: null }, 'rules[1].dst_port');
    fails({ ...base, tags: [] }, 'rules[1].tags', 'non-empty');
    fails({ ...base, tags: 'web' }, 'rules[1].tags');
    fails({ ...base, tags: ['web', 'bad tag'] }, 'rules[1].tags[1]');
    fails({ ...base, tags: ['10.0.0.1/8'] }, 'rules[1].tags[0]', '10.0.0.0/8');
    fails(null, 'rules[1]');
  });

  it('allows ports only for TCP, UDP and SCTP', () => {
    fails({ ...base, protocol: 1, dst_port: 22 }, 'rules[1].dst_port', 'protocol is 6');
    fails({ ...base, protocol: -1, src_port: 1000, dst_port: -1 }, 'rules[1].src_port');
    validateRule({ ...base, protocol: 1, src_port: -1, dst_port: -1 });
  });

  it('accepts every in-range numeric combination, rejects out-of-range ones', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -3, max: 260 }),
        fc.integer({ min: -3, max: 65540 }),
        (protocol, port) => {
          const ok =
            protocol >= -1 &&
            protocol <= 255 &&
            port >= -1 &&
            port <= 65535 &&
            (port === -1 || [6, 17, 132].includes(protocol));
          let threw = false;
          try {
            validateRule({ ...base, protocol, dst_port: port });
          } catch (e) {
            assert.ok(e instanceof SkywayError);
            threw = true;
          }
          assert.equal(threw, !ok);
        },
      ),
    );
  });
});

describe('validateRules', () => {
  it('rejects duplicate names in one request, pointing at the second', () => {
    fails({ ...base }, 'rules[1].name', 'rules[0]');
  });

  it('rejects a non-list', () => {
    assert.throws(
      () => validateRules({} as RuleInput[]),
      (e: unknown) => e instanceof SkywayError && e.field === 'rules',
    );
  });

  it('accepts an empty list', () => {
    assert.deepEqual(validateRules([]), []);
  });
});

describe('helpers', () => {
  it('builds a valid ping rule', () => {
    const r = validateRule(pingRule('default.lab-east.vm-a'));
    assert.deepEqual(r, {
      name: 'ping-default-lab-east-vm-a',
      direction: 'INBOUND',
      protocol: 1,
      srcPort: -1,
      dstPort: -1,
      tags: ['default.lab-east.vm-a'],
      targets: [],
    });
  });

  it('builds a valid ssh rule', () => {
    const r = validateRule(sshRule('10.0.0.0/24'));
    assert.equal(r.name, 'ssh-10-0-0-0-24');
    assert.equal(r.protocol, 6);
    assert.equal(r.dstPort, 22);
    assert.equal(r.srcPort, -1);
  });

  it('makes slugs that always give valid, length-limited names', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (tag) => {
        const slug = ruleSlug(tag);
        assert.match(`ping-${slug}`, /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
        assert.ok(`ping-${slug}`.length <= 63);
      }),
    );
  });

  it('keeps distinct long tags distinct', () => {
    const a = ruleSlug(`${'x'.repeat(100)}.a`);
    const b = ruleSlug(`${'x'.repeat(100)}.b`);
    assert.notEqual(a, b);
    assert.equal(ruleSlug('Web_Tier'), 'web-tier');
    assert.equal(ruleSlug('...'), 'x');
  });
});

describe('diffPermitList', () => {
  const rule = (name: string, over: Partial<Rule> = {}): Rule => ({
    name,
    direction: 'INBOUND',
    srcPort: -1,
    dstPort: 22,
    protocol: 6,
    tags: ['web'],
    targets: ['10.0.0.1/32'],
    ...over,
  });

  it('finds nothing when the cloud enforces the same rules in another spelling and order', () => {
    const d = diffPermitList(
      [rule('a', { targets: ['10.0.0.1/32', '10.0.1.0/24'] }), rule('b')],
      [rule('b', { tags: [] }), rule('a', { targets: ['10.0.1.0/24', '10.0.0.1'] })],
    );
    assert.equal(hasDrift(d), false);
  });

  it('names missing, extra and changed rules', () => {
    const d = diffPermitList(
      [rule('kept'), rule('gone'), rule('port')],
      [rule('kept'), rule('port', { dstPort: 23 }), rule('stray')],
    );
    assert.deepEqual(d, { missing: ['gone'], extra: ['stray'], changed: ['port'] });
  });

  it('counts a lost target and a flipped direction as changes', () => {
    const d = diffPermitList(
      [rule('t', { targets: ['10.0.0.1/32', '10.0.0.2/32'] }), rule('d')],
      [rule('t'), rule('d', { direction: 'OUTBOUND' })],
    );
    assert.deepEqual(d.changed, ['t', 'd']);
  });
});
