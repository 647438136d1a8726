// The events aggregate: an append-only log a client resumes with ?since=.
import { type DbRef, now } from './sql.js';

export interface EventRow {
  id: number;
  time: string;
  type: string;
  subject: string;
  data: unknown;
}

export interface EventRepo {
  append(e: { type: string; subject: string; data: unknown }): Promise<EventRow>;
  since(afterId: number, limit?: number): Promise<EventRow[]>;
  /** Keeps the newest `keep` events. */
  prune(keep: number): Promise<void>;
}

export class SqlEvents implements EventRepo {
  constructor(private readonly q: DbRef) {}

  async append(e: { type: string; subject: string; data: unknown }): Promise<EventRow> {
    const time = now();
    const row = await this.q()
      .insertInto('events')
      .values({ time, type: e.type, subject: e.subject, data: JSON.stringify(e.data ?? {}) })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: Number(row.id), time, type: e.type, subject: e.subject, data: e.data ?? {} };
  }

  async since(afterId: number, limit = 1000): Promise<EventRow[]> {
    const rows = await this.q()
      .selectFrom('events')
      .selectAll()
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      time: r.time,
      type: r.type,
      subject: r.subject,
      data: JSON.parse(r.data),
    }));
  }

  async prune(keep: number): Promise<void> {
    const newest = await this.q()
      .selectFrom('events')
      .select('id')
      .orderBy('id', 'desc')
      .offset(keep)
      .limit(1)
      .executeTakeFirst();
    if (newest) await this.q().deleteFrom('events').where('id', '<=', newest.id).execute();
  }
}

export class MemoryEvents implements EventRepo {
  rows: EventRow[] = [];
  private next = 1;
  async append(e: { type: string; subject: string; data: unknown }) {
    const row = {
      id: this.next++,
      time: now(),
      type: e.type,
      subject: e.subject,
      data: structuredClone(e.data ?? {}),
    };
    this.rows.push(row);
    return { ...row };
  }
  async since(afterId: number, limit = 1000) {
    return this.rows
      .filter((e) => e.id > afterId)
      .slice(0, limit)
      .map((e) => ({ ...e }));
  }
  async prune(keep: number) {
    this.rows = this.rows.slice(-keep);
  }
}
