import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdlePool } from './idle-pool.js';

interface Item {
  name: string;
  open: boolean;
}

function pool(maxPerKey = 2) {
  const discarded: string[] = [];
  const p = new IdlePool<Item>({
    idleMs: 1000,
    maxPerKey,
    usable: (i) => i.open,
    discard: (i) => discarded.push(i.name),
  });
  return { p, discarded };
}

describe('IdlePool', () => {
  it('hands back the most recent usable item of a key, and only while it is fresh', () => {
    const { p, discarded } = pool();
    const a = { name: 'a', open: true };
    const b = { name: 'b', open: true };
    assert.ok(p.put('k', a, 0));
    assert.ok(p.put('k', b, 500));
    assert.equal(p.take('other', 600), undefined);
    assert.equal(p.take('k', 600), b);
    assert.equal(p.take('k', 1200), undefined, 'a waited 1200 ms, more than 1000');
    assert.deepEqual(discarded, ['a']);
  });

  it('skips items that stopped being usable, refuses beyond the limit, and sweeps old ones', () => {
    const { p, discarded } = pool(2);
    const items = ['a', 'b', 'c'].map((name) => ({ name, open: true }));
    assert.ok(p.put('k', items[0]!, 0));
    assert.ok(p.put('k', items[1]!, 0));
    assert.equal(p.put('k', items[2]!, 0), false);
    assert.equal(p.put('j', { name: 'closed', open: false }, 0), false);
    items[1]!.open = false;
    assert.equal(p.take('k', 10), items[0]);
    assert.deepEqual(discarded, ['b']);
    p.put('k', items[0]!, 100);
    p.put('j', items[2]!, 900);
    p.sweep(1500);
    assert.deepEqual(discarded, ['b', 'a']);
    assert.equal(p.size, 1);
    p.remove('j', items[2]!);
    assert.equal(p.size, 0);
    p.put('k', items[0]!, 2000);
    p.close();
    assert.deepEqual(discarded, ['b', 'a', 'a']);
  });
});
