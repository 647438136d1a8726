// GET /api/v1/events: server-sent events of every change. A client resumes
// with ?since=<id> or the Last-Event-ID header; the replay pages through the
// store (nothing is skipped however far behind it is), then the stream
// follows live events. A reader too slow to keep up is not buffered without
// bound: the stream ends with a `cut` event naming the id to resume from.

import type { ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import { invalidArgument } from '@skyway/core';
import type { EventRow } from '../../store/store.js';
import { allow, visibleNamespaces } from '../access.js';
import type { Services } from '../context.js';

export interface EventStreamLimits {
  /** Events read from the store per replay page. */
  pageSize: number;
  /** Bytes queued for one client beyond which its stream is cut (resumable). */
  maxQueuedBytes: number;
  /** Milliseconds between keepalive comments. */
  heartbeatMs: number;
  /** Milliseconds the replay waits for a reader to take what was sent before cutting it. */
  drainMs: number;
}

export const defaultEventLimits: EventStreamLimits = {
  pageSize: 500,
  maxQueuedBytes: 1 << 20,
  heartbeatMs: 15_000,
  drainMs: 30_000,
};

/** May a caller of `visible` namespaces (undefined: all) see event `e`? */
export function eventVisible(e: EventRow, visible: string[] | undefined): boolean {
  if (!visible) return true;
  const owner = (e.data as { namespace?: unknown } | null)?.namespace;
  return visible.some(
    (ns) => e.subject.startsWith(`${ns}/`) || e.subject.startsWith(`${ns}.`) || owner === ns,
  );
}

/** The id to resume after: the `since` query, else Last-Event-ID, else -1 (live events only). */
function startingId(since: string | undefined, header: string | string[] | undefined): number {
  if (since !== undefined) return Number(since);
  if (header === undefined) return -1;
  const value = Array.isArray(header) ? header[0]! : header;
  if (!/^\d{1,15}$/.test(value.trim())) {
    throw invalidArgument(
      `Last-Event-ID must be the numeric id of an event (as sent in "id:" lines), got "${value.slice(0, 40)}"`,
      'Last-Event-ID',
    );
  }
  return Number(value.trim());
}

export const eventRoutes: FastifyPluginAsyncTypebox<{
  services: Services;
  limits?: Partial<EventStreamLimits>;
}> = async (app, { services, limits: given }) => {
  const { events } = services;
  const limits = { ...defaultEventLimits, ...given };

  app.get(
    '/events',
    {
      config: allow('viewer', 'filter'),
      schema: {
        tags: ['events'],
        description:
          'Server-sent events of every change; resume with ?since=<last id> or a Last-Event-ID header. ' +
          'follow=false ends the stream after the replay. A stream cut for a slow reader ends with ' +
          'an event of type `cut` whose id is where to resume.',
        querystring: Type.Object(
          {
            since: Type.Optional(Type.String({ pattern: '^\\d{1,15}$' })),
            follow: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const visible = visibleNamespaces(req);
      const since = startingId(req.query.since, req.headers['last-event-id']);
      const follow = req.query.follow !== 'false';
      reply.hijack();
      const res: ServerResponse = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });

      // Everything this stream holds is released in one place, however it ends.
      let closed = false;
      let heartbeat: NodeJS.Timeout | undefined;
      let unsubscribe = () => {};
      const release = () => {
        closed = true;
        if (heartbeat) clearInterval(heartbeat);
        unsubscribe();
      };
      res.on('close', release);

      let last = since;
      let replaying = true;
      const write = (text: string) => res.write(text);
      const cut = () => {
        const data = JSON.stringify({ resume: last, reason: 'slow reader' });
        res.end(`id: ${last}\nevent: cut\ndata: ${data}\n\n`);
        release();
      };
      const send = (e: EventRow) => {
        // Live, a reader this far behind gets no more: the stream ends, saying where to pick up.
        if (!replaying && res.writableLength > limits.maxQueuedBytes) return cut();
        last = e.id;
        if (eventVisible(e, visible))
          res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      };
      /** The replay waits for the reader; one that takes nothing for `drainMs` is cut. */
      const drained = () =>
        new Promise<void>((resolve) => {
          // Without a network socket (inject()) there is nothing to wait for.
          if (!res.writableNeedDrain || closed || !(res.socket instanceof Socket)) return resolve();
          const done = () => {
            clearTimeout(timer);
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          const timer = setTimeout(() => {
            done();
            if (!closed) cut();
          }, limits.drainMs);
          res.on('drain', done).on('close', done);
        });

      // Subscribe first; while replaying, live events only say that there is more to read
      // (they are in the store by the time they are emitted).
      let newest = -1;
      unsubscribe = events.subscribe((e) => {
        if (replaying) newest = Math.max(newest, e.id);
        else if (e.id > last && !closed) send(e);
      });

      try {
        if (since >= 0) {
          const oldest = (await events.since(-1, 1))[0];
          if (oldest && oldest.id > since + 1 && !closed) {
            // Older events were pruned: say so instead of leaving a silent gap.
            write(
              `event: gap\ndata: ${JSON.stringify({ after: since, next: oldest.id, reason: 'pruned' })}\n\n`,
            );
          }
          for (;;) {
            const page = await events.since(last, limits.pageSize);
            if (closed) return;
            for (const e of page) if (!closed) send(e);
            if (closed) return;
            await drained();
            if (page.length < limits.pageSize && newest <= last) break;
          }
        }
        replaying = false;
        if (closed) return;
        if (!follow) {
          res.end(': end of replay\n\n');
          return;
        }
        write(': connected\n\n');
        if (!closed)
          heartbeat = setInterval(
            () => (res.writableLength > limits.maxQueuedBytes ? cut() : write(': keepalive\n\n')),
            limits.heartbeatMs,
          );
      } catch (err) {
        req.log.error({ err }, 'event stream failed');
        res.end();
        release();
      }
    },
  );
};
