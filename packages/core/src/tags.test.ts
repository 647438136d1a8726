import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SkywayError } from './errors.js';
import {
  dependentsOf,
  findCycle,
  leafTagName,
  resolveTag,
  type Tag,
  tagCycleError,
  tagUsableFrom,
  validateTagName,
  validateTagRef,
} from './tags.js';

const leaf = (name: string, ip: string): Tag => ({ name, uri: `lab://${name}`, ip, members: [] });
const group = (name: string, ...members: string[]): Tag => ({ name, members });
const lookupOf = (tags: Tag[]) => {
  const m = new Map(tags.map((t) => [t.name, t]));
  return (name: string) => m.get(name);
};
const isError = (code: string, field?: string, text?: string) => (e: unknown) =>
  e instanceof SkywayError &&
  e.code === code &&
  (field === undefined || e.field === field) &&
  (text === undefined || e.message.includes(text));

describe('validateTagName', () => {
  it('accepts ordinary names', () => {
    for (const n of ['web', 'default.lab-east.vm-a', 'A1', 'team:frontend', 'x_y', 'a'.repeat(253)]) {
      validateTagName(n);
    }
  });

  it('rejects bad names and names the field', () => {
    for (const n of ['', '-web', '.x', 'a b', 'web/1', 'é', 'a'.repeat(254)]) {
      assert.throws(() => validateTagName(n, 'members[3]'), isError('INVALID_ARGUMENT', 'members[3]'), n);
    }
  });

  it('rejects IP and CIDR literals and dotted quads', () => {
    for (const n of ['10.0.0.1', '10.0.0.0/8', '10.0.0.256']) {
      assert.throws(() => validateTagName(n, 'name'), isError('INVALID_ARGUMENT', 'name', 'IP'), n);
    }
  });
});

describe('validateTagRef', () => {
  it('normalizes literals and passes names through', () => {
    assert.equal(validateTagRef('10.0.0.1', 'f'), '10.0.0.1/32');
    assert.equal(validateTagRef('10.0.0.0/24', 'f'), '10.0.0.0/24');
    assert.equal(validateTagRef('web', 'f'), 'web');
  });

  it('reports bad literals as bad CIDRs with a suggestion', () => {
    assert.throws(
      () => validateTagRef('10.0.0.1/8', 'tags[0]'),
      isError('INVALID_CIDR', 'tags[0]', '10.0.0.0/8'),
    );
    assert.throws(() => validateTagRef('10.0.0.256', 'tags[0]'), isError('INVALID_CIDR', 'tags[0]'));
  });
});

describe('leafTagName', () => {
  it('joins namespace, cloud and resource name', () => {
    assert.equal(leafTagName('default', 'lab-east', 'vm-a'), 'default.lab-east.vm-a');
  });
});

describe('resolveTag', () => {
  const tags = [
    leaf('a', '10.0.0.2'),
    leaf('b', '10.0.0.1'),
    group('web', 'a', 'b', '192.168.0.0/24'),
    group('all', 'web', 'a', '10.0.0.2', '172.16.0.1'),
  ];
  const lookup = lookupOf(tags);

  it('resolves a leaf to its /32', () => {
    assert.deepEqual(resolveTag('a', lookup), { cidrs: ['10.0.0.2/32'], leaves: [tags[0]] });
  });

  it('collects, normalizes, sorts and deduplicates through nested groups', () => {
    const r = resolveTag('all', lookup);
    assert.deepEqual(r.cidrs, ['10.0.0.1/32', '10.0.0.2/32', '172.16.0.1/32', '192.168.0.0/24']);
    assert.deepEqual(
      r.leaves.map((t) => t.name),
      ['a', 'b'],
    );
  });

  it('resolves a literal to itself', () => {
    assert.deepEqual(resolveTag('10.1.1.1', lookup), { cidrs: ['10.1.1.1/32'], leaves: [] });
    assert.deepEqual(resolveTag('10.1.0.0/16', lookup), { cidrs: ['10.1.0.0/16'], leaves: [] });
  });

  it('resolves an empty group to nothing', () => {
    assert.deepEqual(resolveTag('e', lookupOf([group('e')])), { cidrs: [], leaves: [] });
  });

  it('names an unknown tag and its parent', () => {
    assert.throws(() => resolveTag('nope', lookup), isError('NOT_FOUND', undefined, '"nope"'));
    const l = lookupOf([group('g', 'ghost')]);
    assert.throws(() => resolveTag('g', l), isError('NOT_FOUND', undefined, '"ghost" (a member of "g")'));
  });

  it('reports a cycle with its path', () => {
    const l = lookupOf([group('root', 'a'), group('a', 'b'), group('b', 'a')]);
    assert.throws(() => resolveTag('root', l), isError('TAG_CYCLE', undefined, 'a -> b -> a'));
    assert.throws(
      () => resolveTag('s', lookupOf([group('s', 's')])),
      isError('TAG_CYCLE', undefined, 's -> s'),
    );
  });

  it('stays linear on diamonds', () => {
    // 30 layers of two groups each pointing at both groups below: 2^30 paths.
    const layers: Tag[] = [leaf('l0a', '10.0.0.1'), leaf('l0b', '10.0.0.2')];
    for (let i = 1; i <= 30; i++) {
      layers.push(group(`l${i}a`, `l${i - 1}a`, `l${i - 1}b`), group(`l${i}b`, `l${i - 1}a`, `l${i - 1}b`));
    }
    assert.deepEqual(resolveTag('l30a', lookupOf(layers)).cidrs, ['10.0.0.1/32', '10.0.0.2/32']);
  });

  it('walks a chain of 20,000 nested groups without overflowing the stack', () => {
    const chain: Tag[] = [leaf('t0', '10.9.9.9')];
    for (let i = 1; i < 20000; i++) chain.push(group(`t${i}`, `t${i - 1}`));
    const lookup = lookupOf(chain);
    assert.deepEqual(resolveTag('t19999', lookup).cidrs, ['10.9.9.9/32']);
    assert.equal(findCycle('t0', ['t19999'], lookup)?.length, 20001);
  });
});

describe('findCycle', () => {
  const lookup = lookupOf([group('a', 'b'), group('b', 'c'), group('c'), leaf('vm', '10.0.0.1')]);

  it('finds the cycle a new member set would close', () => {
    assert.deepEqual(findCycle('c', ['a'], lookup), ['c', 'a', 'b', 'c']);
    assert.deepEqual(findCycle('c', ['c'], lookup), ['c', 'c']);
  });

  it('returns null when none would form', () => {
    assert.equal(findCycle('c', ['vm', '10.0.0.0/8', 'unknown'], lookup), null);
    assert.equal(findCycle('a', ['c'], lookup), null);
    assert.equal(findCycle('new', ['a'], lookup), null);
  });

  it('ignores the old members of the tag being changed', () => {
    const l = lookupOf([group('a', 'b'), group('b')]);
    assert.equal(findCycle('b', ['x'], l), null);
    assert.deepEqual(findCycle('b', ['a'], l), ['b', 'a', 'b']);
  });

  it('agrees with resolveTag on random graphs', () => {
    // Apply a random edit to a random DAG: findCycle predicts whether resolution then fails.
    const arb = fc.record({
      n: fc.integer({ min: 1, max: 8 }),
      edges: fc.array(fc.tuple(fc.nat(7), fc.nat(7))),
      target: fc.nat(7),
      newMembers: fc.array(fc.nat(7), { maxLength: 4 }),
    });
    fc.assert(
      fc.property(arb, ({ n, edges, target, newMembers }) => {
        const tags = new Map<string, Tag>();
        for (let i = 0; i < n; i++) tags.set(`t${i}`, group(`t${i}`));
        // Only downward edges, so the starting graph is acyclic.
        for (const [x, y] of edges) if (x < y && y < n) tags.get(`t${x}`)?.members.push(`t${y}`);
        const name = `t${target % n}`;
        const members = newMembers.map((m) => `t${m % n}`);
        const cycle = findCycle(name, members, (k) => tags.get(k));
        tags.set(name, group(name, ...members));
        let cyclic = false;
        for (const k of tags.keys()) {
          try {
            resolveTag(k, (x) => tags.get(x));
          } catch (e) {
            assert.ok(e instanceof SkywayError && e.code === 'TAG_CYCLE');
            cyclic = true;
          }
        }
        assert.equal(cycle !== null, cyclic);
        if (cycle) {
          assert.equal(cycle[0], name);
          assert.equal(cycle.at(-1), name);
          for (let i = 0; i + 1 < cycle.length; i++) {
            assert.ok(tags.get(cycle[i] as string)?.members.includes(cycle[i + 1] as string));
          }
        }
      }),
    );
  });
});

describe('dependentsOf', () => {
  const tags = [
    leaf('vm1', '10.0.0.1'),
    leaf('vm2', '10.0.0.2'),
    group('web', 'vm1'),
    group('db', 'vm2'),
    group('prod', 'web', 'db'),
    group('everything', 'prod', 'vm1'),
    group('other', '10.0.0.0/8'),
  ];

  it('finds direct and transitive parents', () => {
    assert.deepEqual(dependentsOf(['vm1'], tags), ['everything', 'prod', 'web']);
    assert.deepEqual(dependentsOf(['vm2', 'vm1'], tags), ['db', 'everything', 'prod', 'web']);
    assert.deepEqual(dependentsOf(['everything'], tags), []);
    assert.deepEqual(dependentsOf(['unknown'], tags), []);
  });

  it('includes an input name only when another input reaches it', () => {
    assert.deepEqual(dependentsOf(['vm1', 'web'], tags), ['everything', 'prod', 'web']);
  });

  it('terminates on cycles', () => {
    assert.deepEqual(dependentsOf(['a'], [group('a', 'b'), group('b', 'a')]), ['a', 'b']);
  });

  it('is fast for 10,000 tags', () => {
    // 9,000 leaves in 900 groups of 10, the groups in 90 groups, those in 9, and one root.
    const all: Tag[] = [];
    for (let i = 0; i < 9000; i++) all.push(leaf(`vm${i}`, `10.${i >> 8}.${i & 255}.1`));
    for (let i = 0; i < 900; i++)
      all.push(group(`g${i}`, ...Array.from({ length: 10 }, (_, j) => `vm${i * 10 + j}`)));
    for (let i = 0; i < 90; i++)
      all.push(group(`h${i}`, ...Array.from({ length: 10 }, (_, j) => `g${i * 10 + j}`)));
    for (let i = 0; i < 9; i++)
      all.push(group(`k${i}`, ...Array.from({ length: 10 }, (_, j) => `h${i * 10 + j}`)));
    all.push(group('root', ...Array.from({ length: 9 }, (_, j) => `k${j}`)));
    const start = performance.now();
    const everyLeaf = dependentsOf(
      Array.from({ length: 9000 }, (_, i) => `vm${i}`),
      all,
    );
    assert.equal(everyLeaf.length, 1000);
    assert.deepEqual(dependentsOf(['vm1234'], all), ['g123', 'h12', 'k1', 'root']);
    assert.ok(performance.now() - start < 500, 'took too long');
  });
});

describe('tagCycleError', () => {
  it('carries the path and field', () => {
    const e = tagCycleError(['a', 'b', 'a'], 'members[0]');
    assert.equal(e.code, 'TAG_CYCLE');
    assert.equal(e.field, 'members[0]');
    assert.match(e.message, /a -> b -> a/);
  });
});

describe('tag ownership in resolution', () => {
  const owned = (t: Tag, namespace?: string, sharedWith?: string[]): Tag => ({
    ...t,
    ...(namespace ? { namespace } : {}),
    ...(sharedWith ? { sharedWith } : {}),
  });
  const tags = [
    owned(leaf('default.east.a', '10.0.0.1'), 'default'),
    owned(leaf('other.east.o', '10.0.1.1'), 'other'),
    owned(group('web', 'default.east.a'), 'default'),
    owned(group('shared', 'default.east.a'), 'default', ['other']),
    // Made by other when `web` was shared with it; the share is gone since.
    owned(group('stale', 'web', 'other.east.o'), 'other'),
    group('global', 'default.east.a', 'other.east.o'),
  ];
  const lookup = lookupOf(tags);

  it('lets a namespace use its own tags, global ones and those shared with it', () => {
    const t = (name: string) => lookup(name)!;
    assert.equal(tagUsableFrom(t('web'), 'default'), true);
    assert.equal(tagUsableFrom(t('web'), 'other'), false);
    assert.equal(tagUsableFrom(t('shared'), 'other'), true);
    assert.equal(tagUsableFrom(t('global'), 'other'), true);
    assert.equal(tagUsableFrom(t('web'), undefined), true, "a global tag's members may be anything");
  });

  it("refuses a tag the rule's namespace may not use, naming owner and namespace", () => {
    assert.throws(
      () => resolveTag('web', lookup, { from: 'other' }),
      isError(
        'PERMISSION_DENIED',
        undefined,
        '"web" belongs to namespace "default" and is not shared with "other"',
      ),
    );
    assert.deepEqual(resolveTag('shared', lookup, { from: 'other' }).cidrs, ['10.0.0.1/32']);
    assert.deepEqual(resolveTag('global', lookup, { from: 'other' }).cidrs, ['10.0.0.1/32', '10.0.1.1/32']);
  });

  it('leaves out a member its parent may no longer use', () => {
    assert.deepEqual(resolveTag('stale', lookup, { from: 'other' }).cidrs, ['10.0.1.1/32']);
    assert.deepEqual(resolveTag('stale', lookup).cidrs, ['10.0.1.1/32']);
  });
});
