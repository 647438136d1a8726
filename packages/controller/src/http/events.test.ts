// The event stream: a replay of any length without a gap, a clear error for
// a bad Last-Event-ID, nothing left behind by a client that leaves, and a
// slow reader cut with an id to resume from instead of buffered without end.
import assert from 'node:assert/strict';
import { get, type IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { type Harness, startHarness } from '../testing/harness.js';
import { installAuth } from './auth.js';
import { handleError } from './errors.js';
import { eventRoutes } from './routes/events.js';

interface Sse {
  id?: number;
  event?: string;
  data?: string;
}

/** Parses a text/event-stream body into its events (comments dropped). */
function parseSse(text: string): Sse[] {
  return text
    .split('\n\n')
    .filter((block) => block.split('\n').some((l) => l && !l.startsWith(':')))
    .map((block) => {
      const e: Sse = {};
      for (const line of block.split('\n')) {
        const [k, ...rest] = line.split(': ');
        const v = rest.join(': ');
        if (k === 'id') e.id = Number(v);
        else if (k === 'event') e.event = v;
        else if (k === 'data') e.data = v;
      }
      return e;
    });
}

const waitFor = async (what: string, ok: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('event stream', () => {
  let h: Harness;
  let app: FastifyInstance;
  let port: number;
  const auth = () => ({ authorization: `Bearer ${h.adminToken}` });

  before(async () => {
    h = await startHarness();
    // The events route on an app of its own, with small limits so the test is quick.
    app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
    app.setErrorHandler(handleError);
    installAuth(app, h.tokens);
    await app.register(eventRoutes, {
      prefix: '/api/v1',
      services: h.services,
      limits: { pageSize: 100, maxQueuedBytes: 64 * 1024, heartbeatMs: 60_000 },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
    for (let i = 0; i < 2_500; i++) await h.services.events.publish('drift.detected', `default/east/vm-${i}`);
  });
  after(async () => {
    await app.close();
    await h.close();
  });

  const allIds = async () => (await h.services.events.since(0, 100_000)).map((e) => e.id);

  test('a replay of 2,500 events (beyond one page and 1,000) has every id once, in order', async () => {
    const res = await app.inject({ url: '/api/v1/events?since=0&follow=false', headers: auth() });
    assert.equal(res.statusCode, 200);
    const ids = parseSse(res.body).map((e) => e.id);
    const expected = await allIds();
    assert.ok(expected.length >= 2_500);
    assert.deepEqual(ids, expected);
    // Resuming with Last-Event-ID gets exactly what came after it.
    const from = expected[1_234]!;
    const resumed = await app.inject({
      url: '/api/v1/events?follow=false',
      headers: { ...auth(), 'last-event-id': String(from) },
    });
    assert.deepEqual(
      parseSse(resumed.body).map((e) => e.id),
      expected.filter((id) => id > from),
    );
  });

  test('a non-numeric Last-Event-ID gets a 400 naming the header', async () => {
    for (const bad of ['abc', '-1', '1e3', '12abc', ' ', '99999999999999999999']) {
      const res = await app.inject({ url: '/api/v1/events', headers: { ...auth(), 'last-event-id': bad } });
      assert.equal(res.statusCode, 400, bad);
      assert.equal(res.json().error.code, 'INVALID_ARGUMENT');
      assert.equal(res.json().error.field, 'Last-Event-ID');
    }
  });

  const open = (path: string, headers: Record<string, string> = {}) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path, headers: { ...auth(), ...headers } }, resolve).on('error', reject);
    });
  const readAll = (res: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => resolve(text));
      res.resume();
    });

  test('a client that leaves during the replay releases its subscription', async () => {
    const baseline = h.services.events.subscriberCount();
    const res = await open('/api/v1/events?since=0');
    await new Promise((r) => res.once('data', r));
    assert.equal(h.services.events.subscriberCount(), baseline + 1);
    res.destroy();
    await waitFor('the subscription to go', () => h.services.events.subscriberCount() === baseline);
  });

  test('a reader that does not read is cut with an id to resume from, and resumes without a gap', async (t) => {
    const baseline = h.services.events.subscriberCount();
    const res = await open('/api/v1/events'); // live events only
    res.pause();
    await waitFor('the stream to open', () => h.services.events.subscriberCount() === baseline + 1);
    const first = (await allIds()).at(-1)!;
    const pad = 'x'.repeat(10_000);
    let published = 0;
    while (h.services.events.subscriberCount() > baseline) {
      assert.ok(published < 5_000, 'the slow stream was never cut');
      await h.services.events.publish('drift.detected', 'default/east/big', { pad });
      published++;
    }
    t.diagnostic(`the stream was cut after ${published} live events of 10 kB`);
    const got = parseSse(await readAll(res));
    const cut = got.at(-1)!;
    assert.equal(cut.event, 'cut');
    const resume = JSON.parse(cut.data!).resume;
    assert.equal(cut.id, resume);
    const before = got.filter((e) => e.event === 'drift.detected').map((e) => e.id!);
    assert.equal(before.at(-1), resume, 'the resume id is the last event sent');
    // Resuming from the cut gets the rest.
    const rest = await app.inject({
      url: '/api/v1/events?follow=false',
      headers: { ...auth(), 'last-event-id': String(resume) },
    });
    const after = parseSse(rest.body).map((e) => e.id!);
    const expected = (await allIds()).filter((id) => id > first);
    assert.deepEqual([...before, ...after], expected);
    assert.ok(published > 1 && after.length > 0, `published ${published}, resumed ${after.length}`);
  });
});
