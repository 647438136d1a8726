import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeComment,
  encodeComment,
  type FilterRule,
  Nftables,
  normalizeTargets,
  parseTable,
  renderRule,
  renderTable,
} from './nftables.js';
import { FakeRunner } from './runner.js';

// `nft -j list table inet skyway` of renderTable([web, ping, dns]) (nftables 1.0.6), web with counts.
const LIVE = JSON.stringify({
  nftables: [
    { metainfo: { version: '1.0.6' } },
    { table: { family: 'inet', name: 'skyway', handle: 2 } },
    { chain: { name: 'input', handle: 1, type: 'filter', hook: 'input', prio: 0, policy: 'drop' } },
    { chain: { name: 'output', handle: 2, type: 'filter', hook: 'output', prio: 0, policy: 'drop' } },
    {
      rule: {
        chain: 'input',
        handle: 3,
        expr: [
          { match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } },
          { accept: null },
        ],
      },
    },
    {
      rule: {
        chain: 'input',
        handle: 4,
        expr: [{ match: { op: 'in', left: { ct: { key: 'state' } }, right: 'invalid' } }, { drop: null }],
      },
    },
    {
      rule: {
        chain: 'input',
        handle: 5,
        expr: [{ match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'lo' } }, { accept: null }],
      },
    },
    {
      rule: {
        chain: 'input',
        handle: 7,
        comment: 'n=web;t=web',
        expr: [
          {
            match: {
              op: '==',
              left: { payload: { protocol: 'ip', field: 'saddr' } },
              right: { set: [{ prefix: { addr: '10.1.0.0', len: 16 } }, '10.2.0.5'] },
            },
          },
          { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 80 } },
          { match: { op: 'in', left: { ct: { key: 'state' } }, right: 'new' } },
          { counter: { packets: 3, bytes: 180 } },
          { accept: null },
        ],
      },
    },
    {
      rule: {
        chain: 'output',
        handle: 8,
        expr: [
          { match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } },
          { accept: null },
        ],
      },
    },
    {
      rule: {
        chain: 'output',
        handle: 9,
        expr: [{ match: { op: 'in', left: { ct: { key: 'state' } }, right: 'invalid' } }, { drop: null }],
      },
    },
    {
      rule: {
        chain: 'output',
        handle: 10,
        expr: [{ match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'lo' } }, { accept: null }],
      },
    },
    {
      rule: {
        chain: 'output',
        handle: 11,
        comment: 'n=ping;t=',
        expr: [
          { match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: '10.2.0.5' } },
          { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'icmp' } },
          { match: { op: 'in', left: { ct: { key: 'state' } }, right: 'new' } },
          { counter: { packets: 0, bytes: 0 } },
          { accept: null },
        ],
      },
    },
    {
      rule: {
        chain: 'output',
        handle: 13,
        comment: 'n=dns;t=x,a%2Cb',
        expr: [
          { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: { set: ['tcp', 'udp'] } } },
          { match: { op: '==', left: { payload: { protocol: 'th', field: 'dport' } }, right: 53 } },
          { match: { op: 'in', left: { ct: { key: 'state' } }, right: 'new' } },
          { counter: { packets: 0, bytes: 0 } },
          { continue: null },
        ],
      },
    },
  ],
});

const web: FilterRule = {
  name: 'web',
  direction: 'in',
  targets: ['10.1.0.0/16', '10.2.0.5/32'],
  protocol: 6,
  srcPort: -1,
  dstPort: 80,
  tags: ['web'],
};

test('renders default drop both ways, established allowed, and an atomic replace', () => {
  const t = renderTable([]);
  assert.match(t, /^table inet skyway\ndelete table inet skyway\n/);
  assert.equal(t.match(/policy drop/g)?.length, 2);
  assert.equal(t.match(/ct state established,related accept/g)?.length, 2);
});

test('renders rules in the chain of their direction with comment and counter', () => {
  const t = renderTable([
    web,
    { ...web, name: 'out', direction: 'out', targets: ['10.3.0.0/16'], protocol: 1, dstPort: -1 },
  ]);
  assert.match(
    t,
    /ip saddr \{ 10\.1\.0\.0\/16, 10\.2\.0\.5 \} meta l4proto tcp th dport 80 ct state new counter accept comment "n=web;t=web"/,
  );
  assert.match(
    t,
    /ip daddr 10\.3\.0\.0\/16 meta l4proto icmp ct state new counter accept comment "n=out;t=web"/,
  );
  assert.ok(t.indexOf('n=web') < t.indexOf('chain output'));
  assert.ok(t.indexOf('n=out') > t.indexOf('chain output'));
});

test('any protocol with a port matches tcp and udp', () => {
  assert.match(renderTable([{ ...web, protocol: -1 }]), /meta l4proto \{ tcp, udp \} th dport 80/);
});

test('rejects bad targets, ports on icmp, duplicate names and long comments', () => {
  assert.throws(() => renderTable([{ ...web, targets: ['10.0.0.300'] }]), /not an IPv4/);
  assert.throws(() => renderTable([{ ...web, protocol: 1 }]), /ports need protocol/);
  assert.throws(() => renderTable([web, web]), /duplicate/);
  assert.throws(() => renderTable([{ ...web, name: 'x'.repeat(200) }]), /comments hold/);
});

test('comments round-trip names and tags with separators', () => {
  const c = encodeComment('a;b', ['x,y', 'z"q']);
  assert.ok(!c.includes('"'));
  assert.deepEqual(decodeComment(c), { name: 'a;b', tags: ['x,y', 'z"q'] });
  assert.equal(decodeComment('something else'), undefined);
  const long = encodeComment('web', ['t'.repeat(80), 'u'.repeat(80)]);
  assert.equal(long, 'n=web;x=2');
  assert.deepEqual(decodeComment(long), { name: 'web', tags: [], tagsWithheld: true });
});

test('targets are normalized the way nft prints them', () => {
  assert.deepEqual(normalizeTargets(['10.2.0.5/32', '10.1.2.3/16', '10.1.7.0/24', '9.0.0.0/8']), [
    '9.0.0.0/8',
    '10.1.0.0/16',
    '10.2.0.5',
  ]);
});

test('parses the live JSON ruleset back into rules with counters, nothing else differing', () => {
  const live = parseTable(LIVE);
  assert.deepEqual([live.deviations, live.unfiltered], [[], false]);
  assert.deepEqual(live.rules, [
    {
      name: 'web',
      tags: ['web'],
      direction: 'in',
      targets: ['10.1.0.0/16', '10.2.0.5'],
      protocol: 6,
      srcPort: -1,
      dstPort: 80,
      packets: 3,
      bytes: 180,
    },
    {
      name: 'ping',
      tags: [],
      direction: 'out',
      targets: ['10.2.0.5'],
      protocol: 1,
      srcPort: -1,
      dstPort: -1,
      packets: 0,
      bytes: 0,
    },
    {
      name: 'dns',
      tags: ['x', 'a,b'],
      direction: 'out',
      targets: [],
      protocol: -1,
      srcPort: -1,
      dstPort: 53,
      packets: 0,
      bytes: 0,
    },
  ]);
});

test('what no rule accounts for is a deviation: rules by hand, lost base rules, changed or added chains', () => {
  type Item = { chain?: Record<string, unknown>; rule?: { chain: string; handle: number; expr: object[] } };
  const doc = JSON.parse(LIVE) as { nftables: Item[] };
  const tampered = doc.nftables
    // the input chain's `ct state invalid drop` is gone
    .filter((i) => i.rule?.handle !== 4)
    .map((i) => {
      if (i.chain?.name === 'output') return { chain: { ...i.chain, policy: 'accept' } };
      const web = i.rule?.handle === 7 && i.rule;
      return web ? { rule: { ...web, expr: [...web.expr.slice(0, -1), { drop: null }] } } : i;
    });
  tampered.push(
    {
      rule: {
        chain: 'input',
        handle: 20,
        expr: [
          { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 22 } },
          { counter: { packets: 0, bytes: 0 } },
          { accept: null },
        ],
      },
    },
    { chain: { name: 'sneaky', handle: 21 } },
    { rule: { chain: 'sneaky', handle: 22, expr: [{ accept: null }] } },
  );
  const live = parseTable(JSON.stringify({ nftables: tampered }));
  assert.equal(live.unfiltered, true, 'policy accept lets through what no rule permits');
  assert.deepEqual(live.deviations, [
    'chain output has policy accept, not drop',
    'rule web in chain input ends in drop, not accept',
    'chain input has a rule Skyway did not write (handle 20): tcp dport 22 accept',
    "chain sneaky is not Skyway's",
    'chain input lost its base rule: ct state invalid drop',
  ]);
  assert.deepEqual(
    live.rules.map((r) => r.name),
    ['web', 'ping', 'dns'],
  );
  const noOutput = doc.nftables.filter((i) => i.chain?.name !== 'output' && i.rule?.chain !== 'output');
  const gone = parseTable(JSON.stringify({ nftables: noOutput }));
  assert.deepEqual([gone.unfiltered, gone.deviations], [true, ['chain output is gone']]);
});

test('apply pipes the table to nft -f - inside the namespace; read tolerates a missing table', async () => {
  const fake = new FakeRunner().on('nft -j list table inet skyway', {
    code: 1,
    stderr: 'No such file or directory',
  });
  const nft = new Nftables(fake);
  await nft.apply('sky.vm', [web]);
  assert.equal(fake.lines[0], 'ip netns exec sky.vm nft -f -');
  assert.match(fake.calls[0]!.opts.input!, /n=web/);
  assert.equal(await nft.read('sky.vm'), undefined);
  fake.on('nft -j list table inet skyway', { stdout: LIVE });
  assert.deepEqual(await nft.counters('sky.vm'), [
    { name: 'web', packets: 3, bytes: 180 },
    { name: 'ping', packets: 0, bytes: 0 },
    { name: 'dns', packets: 0, bytes: 0 },
  ]);
  await assert.rejects(nft.apply('host', []), /must start with "sky"/);
});

test('a rule without targets permits nothing (it only counts)', () => {
  const line = renderRule({
    name: 'web',
    tags: ['web'],
    direction: 'in',
    targets: [],
    protocol: 6,
    srcPort: -1,
    dstPort: 80,
  });
  assert.match(line, / continue /);
  assert.doesNotMatch(line, /accept/);
});
