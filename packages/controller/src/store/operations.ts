// The operations aggregate: the durable work queue. A desired-state change
// writes its operations in the same transaction (the outbox); workers run
// them, record each attempt and step, and resume what was pending or running
// after a restart.
import { randomBytes } from 'node:crypto';
import type { Database } from './schema.js';
import { chunk, type DbRef, now } from './sql.js';

export type OperationState = 'pending' | 'running' | 'succeeded' | 'failed';
export const finished = (s: OperationState) => s === 'succeeded' || s === 'failed';

export interface OperationStep {
  name: string;
  state: 'todo' | 'running' | 'done' | 'failed' | 'skipped';
  detail?: string;
}

export interface OperationRow {
  id: string;
  kind: string;
  subject: string;
  namespace: string;
  state: OperationState;
  parent?: string;
  input: Record<string, unknown>;
  steps: OperationStep[];
  result?: unknown;
  attempts: number;
  lastError?: string;
  errorCode?: string;
  notBefore: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface NewOperation {
  kind: string;
  subject: string;
  namespace: string;
  input?: Record<string, unknown>;
  steps?: OperationStep[];
  parent?: string;
}

export type OperationPatch = Partial<
  Pick<
    OperationRow,
    | 'state'
    | 'steps'
    | 'result'
    | 'attempts'
    | 'lastError'
    | 'errorCode'
    | 'notBefore'
    | 'startedAt'
    | 'finishedAt'
  >
>;

export interface OperationFilter {
  state?: OperationState;
  namespace?: string;
  kind?: string;
  subject?: string;
  parent?: string;
  /** Only operations older than this id (paging, newest first). */
  before?: string;
  limit?: number;
}

export interface OperationRepo {
  insert(op: NewOperation): Promise<OperationRow>;
  get(id: string): Promise<OperationRow | undefined>;
  /** Newest first. */
  list(filter?: OperationFilter): Promise<OperationRow[]>;
  /** The oldest pending operations due by `at`, oldest first. */
  due(at: string, limit: number): Promise<OperationRow[]>;
  /** Every pending operation of one subject, oldest first. */
  pendingOf(subject: string): Promise<OperationRow[]>;
  update(id: string, patch: OperationPatch): Promise<void>;
  updateMany(ids: string[], patch: OperationPatch): Promise<void>;
  /** After a restart, what was running is pending again (its worker is gone). */
  requeueRunning(): Promise<number>;
  /** How many children of `parent` are in each state. */
  childCounts(parent: string): Promise<Record<OperationState, number>>;
  /** The earliest time a pending operation is due, if any. */
  nextDue(): Promise<string | undefined>;
}

let lastMs = 0;
let counter = 0;
/** Ids sort in creation order (time, then a counter), so "oldest first" is "by id". */
export function newOperationId(): string {
  const ms = Math.max(Date.now(), lastMs);
  counter = ms === lastMs ? counter + 1 : 0;
  lastMs = ms;
  return `op-${ms.toString(36).padStart(9, '0')}${counter.toString(36).padStart(4, '0')}${randomBytes(2).toString('hex')}`;
}

const toColumns = (p: OperationPatch) => {
  const c: Partial<Database['operations']> = { updated_at: now() };
  if (p.state !== undefined) c.state = p.state;
  if (p.steps !== undefined) c.steps = JSON.stringify(p.steps);
  if ('result' in p) c.result = p.result === undefined ? null : JSON.stringify(p.result);
  if (p.attempts !== undefined) c.attempts = p.attempts;
  if ('lastError' in p) c.last_error = p.lastError ?? null;
  if ('errorCode' in p) c.error_code = p.errorCode ?? null;
  if (p.notBefore !== undefined) c.not_before = p.notBefore;
  if ('startedAt' in p) c.started_at = p.startedAt ?? null;
  if ('finishedAt' in p) c.finished_at = p.finishedAt ?? null;
  return c;
};

const fromColumns = (r: Database['operations']): OperationRow => ({
  id: r.id,
  kind: r.kind,
  subject: r.subject,
  namespace: r.namespace,
  state: r.state as OperationState,
  ...(r.parent ? { parent: r.parent } : {}),
  input: JSON.parse(r.input),
  steps: JSON.parse(r.steps),
  ...(r.result !== null ? { result: JSON.parse(r.result) } : {}),
  attempts: r.attempts,
  ...(r.last_error !== null ? { lastError: r.last_error } : {}),
  ...(r.error_code !== null ? { errorCode: r.error_code } : {}),
  notBefore: r.not_before,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  ...(r.started_at !== null ? { startedAt: r.started_at } : {}),
  ...(r.finished_at !== null ? { finishedAt: r.finished_at } : {}),
});

const newRow = (op: NewOperation): Database['operations'] => {
  const t = now();
  return {
    id: newOperationId(),
    kind: op.kind,
    subject: op.subject,
    namespace: op.namespace,
    state: 'pending',
    parent: op.parent ?? null,
    input: JSON.stringify(op.input ?? {}),
    steps: JSON.stringify(op.steps ?? []),
    result: null,
    attempts: 0,
    last_error: null,
    error_code: null,
    not_before: t,
    created_at: t,
    updated_at: t,
    started_at: null,
    finished_at: null,
  };
};

const emptyCounts = (): Record<OperationState, number> => ({
  pending: 0,
  running: 0,
  succeeded: 0,
  failed: 0,
});

export class SqlOperations implements OperationRepo {
  constructor(private readonly q: DbRef) {}

  async insert(op: NewOperation): Promise<OperationRow> {
    const row = newRow(op);
    await this.q().insertInto('operations').values(row).execute();
    return fromColumns(row);
  }

  async get(id: string): Promise<OperationRow | undefined> {
    const r = await this.q().selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirst();
    return r && fromColumns(r);
  }

  async list(f: OperationFilter = {}): Promise<OperationRow[]> {
    let q = this.q().selectFrom('operations').selectAll();
    if (f.state) q = q.where('state', '=', f.state);
    if (f.namespace) q = q.where('namespace', '=', f.namespace);
    if (f.kind) q = q.where('kind', '=', f.kind);
    if (f.subject) q = q.where('subject', '=', f.subject);
    if (f.parent) q = q.where('parent', '=', f.parent);
    if (f.before) q = q.where('id', '<', f.before);
    return (
      await q
        .orderBy('id', 'desc')
        .limit(f.limit ?? 100)
        .execute()
    ).map(fromColumns);
  }

  async due(at: string, limit: number): Promise<OperationRow[]> {
    const rows = await this.q()
      .selectFrom('operations')
      .selectAll()
      .where('state', '=', 'pending')
      .where('not_before', '<=', at)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(fromColumns);
  }

  async pendingOf(subject: string): Promise<OperationRow[]> {
    const rows = await this.q()
      .selectFrom('operations')
      .selectAll()
      .where('subject', '=', subject)
      .where('state', '=', 'pending')
      .orderBy('id')
      .execute();
    return rows.map(fromColumns);
  }

  async update(id: string, patch: OperationPatch): Promise<void> {
    await this.q().updateTable('operations').set(toColumns(patch)).where('id', '=', id).execute();
  }

  async updateMany(ids: string[], patch: OperationPatch): Promise<void> {
    for (const part of chunk(ids, 500)) {
      await this.q().updateTable('operations').set(toColumns(patch)).where('id', 'in', part).execute();
    }
  }

  async requeueRunning(): Promise<number> {
    const r = await this.q()
      .updateTable('operations')
      .set({ state: 'pending', updated_at: now() })
      .where('state', '=', 'running')
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async childCounts(parent: string): Promise<Record<OperationState, number>> {
    const rows = await this.q()
      .selectFrom('operations')
      .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
      .where('parent', '=', parent)
      .groupBy('state')
      .execute();
    const counts = emptyCounts();
    for (const r of rows) counts[r.state as OperationState] = Number(r.n);
    return counts;
  }

  async nextDue(): Promise<string | undefined> {
    const r = await this.q()
      .selectFrom('operations')
      .select((eb) => eb.fn.min('not_before').as('t'))
      .where('state', '=', 'pending')
      .executeTakeFirst();
    return (r?.t as string | null) ?? undefined;
  }
}

export class MemoryOperations implements OperationRepo {
  readonly rows = new Map<string, Database['operations']>();
  private sorted = () => [...this.rows.values()].sort((a, b) => (a.id < b.id ? -1 : 1));

  async insert(op: NewOperation) {
    const row = newRow(op);
    this.rows.set(row.id, row);
    return fromColumns(row);
  }
  async get(id: string) {
    const r = this.rows.get(id);
    return r && fromColumns(r);
  }
  async list(f: OperationFilter = {}) {
    return this.sorted()
      .reverse()
      .filter(
        (r) =>
          (!f.state || r.state === f.state) &&
          (!f.namespace || r.namespace === f.namespace) &&
          (!f.kind || r.kind === f.kind) &&
          (!f.subject || r.subject === f.subject) &&
          (!f.parent || r.parent === f.parent) &&
          (!f.before || r.id < f.before),
      )
      .slice(0, f.limit ?? 100)
      .map(fromColumns);
  }
  async due(at: string, limit: number) {
    return this.sorted()
      .filter((r) => r.state === 'pending' && r.not_before <= at)
      .slice(0, limit)
      .map(fromColumns);
  }
  async pendingOf(subject: string) {
    return this.sorted()
      .filter((r) => r.state === 'pending' && r.subject === subject)
      .map(fromColumns);
  }
  async update(id: string, patch: OperationPatch) {
    const r = this.rows.get(id);
    if (r) Object.assign(r, toColumns(patch));
  }
  async updateMany(ids: string[], patch: OperationPatch) {
    for (const id of ids) await this.update(id, patch);
  }
  async requeueRunning() {
    let n = 0;
    for (const r of this.rows.values())
      if (r.state === 'running') {
        r.state = 'pending';
        n++;
      }
    return n;
  }
  async childCounts(parent: string) {
    const counts = emptyCounts();
    for (const r of this.rows.values()) if (r.parent === parent) counts[r.state as OperationState]++;
    return counts;
  }
  async nextDue() {
    const due = this.sorted()
      .filter((r) => r.state === 'pending')
      .map((r) => r.not_before)
      .sort();
    return due[0];
  }
}
