// Every change publishes an event: persisted in the store (so a client can
// resume with ?since=) and pushed to live subscribers (SSE).
import { EventEmitter } from 'node:events';
import type { EventRow, Store } from '../store/store.js';

export type EventType =
  | 'resource.created'
  | 'resource.deleted'
  | 'rules.applied'
  | 'rules.deleted'
  | 'tag.updated'
  | 'tag.deleted'
  | 'connection.created'
  | 'connection.deleted'
  | 'token.created'
  | 'token.revoked'
  | 'drift.detected'
  | 'drift.repaired';

/** Keep this many events in the store; older ones are pruned. */
const retained = 10_000;

export class EventBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  private sinceprune = 0;

  constructor(private readonly store: Store) {}

  async publish(
    type: EventType,
    subject: string,
    data: unknown = {},
    store: Store = this.store,
  ): Promise<EventRow> {
    const event = await store.events.append({ type, subject, data });
    // Live subscribers never see an event whose transaction is rolled back.
    store.afterCommit(() => this.emitter.emit('event', event));
    if (++this.sinceprune >= 1000) {
      this.sinceprune = 0;
      // Not awaited: `publish` may run inside a transaction that holds the only SQLite connection.
      setImmediate(() => this.store.events.prune(retained).catch(() => {}));
    }
    return event;
  }

  subscribe(listener: (e: EventRow) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  since(id: number, limit?: number): Promise<EventRow[]> {
    return this.store.events.since(id, limit);
  }
}
