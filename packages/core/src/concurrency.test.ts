import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forEachConcurrently, SerialQueue } from './concurrency.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('SerialQueue', () => {
  it('runs work on one key one at a time, in order, and other keys alongside', async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    const job = (key: string, name: string) =>
      q.run(key, async () => {
        log.push(`${name}+`);
        await tick();
        log.push(`${name}-`);
      });
    await Promise.all([job('a', 'a1'), job('a', 'a2'), job('b', 'b1')]);
    const at = (e: string) => log.indexOf(e);
    assert.ok(at('a2+') > at('a1-'), `a2 started before a1 ended: ${log}`);
    assert.ok(at('b1+') < at('a1-'), `b1 waited for a1: ${log}`);
  });

  it('keeps going after a failure and hands the failure to its caller only', async () => {
    const q = new SerialQueue();
    await assert.rejects(
      q.run('k', async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await q.run('k', async () => 42), 42);
  });
});

describe('forEachConcurrently', () => {
  it('visits every item once with at most `limit` running', async () => {
    let running = 0;
    let peak = 0;
    const seen: number[] = [];
    await forEachConcurrently([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await tick();
      seen.push(n);
      running--;
    });
    assert.deepEqual(seen.sort(), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(peak, 3);
  });
});
