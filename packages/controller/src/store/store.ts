// The controller's store, split along its aggregates (resources, rules, tags,
// connections, operations, events, credentials). Each is an interface with a
// SQL implementation (the same code on SQLite and PostgreSQL) and an
// in-memory fake; `Store` groups them and runs transactions across them.
import type { Kysely, Transaction } from 'kysely';
import { type ConnectionRepo, MemoryConnections, SqlConnections } from './connections.js';
import { type CredentialRepo, MemoryCredentials, SqlCredentials, type TokenRow } from './credentials.js';
import { type Dialect, openDb } from './db.js';
import { type EventRepo, MemoryEvents, SqlEvents } from './events.js';
import { MemoryOperations, type OperationRepo, SqlOperations } from './operations.js';
import { MemoryResources, type ResourceRepo, SqlResources } from './resources.js';
import { MemoryRules, type RuleRepo, SqlRules } from './rules.js';
import type { Database } from './schema.js';
import { MemoryTags, SqlTags, type TagRepo, type TagRow } from './tags.js';

export type { ConnectionRow } from './connections.js';
export type { TokenRow } from './credentials.js';
export type { EventRow } from './events.js';
export type { OperationRow, OperationState, OperationStep } from './operations.js';
export type { ResourceRow } from './resources.js';
export type { ResourceKey, RuleRow } from './rules.js';
export type { TagRow } from './tags.js';

export interface Repos {
  readonly resources: ResourceRepo;
  readonly rules: RuleRepo;
  readonly tags: TagRepo;
  readonly connections: ConnectionRepo;
  readonly operations: OperationRepo;
  readonly events: EventRepo;
  readonly credentials: CredentialRepo;
}

export interface Store extends Repos {
  readonly dialect: Dialect | 'memory';
  /** Runs `fn` in one transaction; everything it writes lands together or not at all. */
  transaction<T>(fn: (store: Store) => Promise<T>): Promise<T>;
  /** Runs `hook` once what was written so far is committed: now outside a transaction, else after it commits. */
  afterCommit(hook: () => void): void;
  close(): Promise<void>;
  // Shorthands other areas call (tokens, plugin key-value store, tags, allocations).
  insertToken(t: Omit<TokenRow, 'revokedAt'>): Promise<void>;
  listTokens(): Promise<TokenRow[]>;
  revokeToken(id: string): Promise<boolean>;
  isTokenRevoked(id: string): Promise<boolean>;
  kvSet(cloud: string, namespace: string, key: string, value: string): Promise<void>;
  kvGet(cloud: string, namespace: string, key: string): Promise<string | undefined>;
  kvDelete(cloud: string, namespace: string, key: string): Promise<void>;
  listTags(): Promise<TagRow[]>;
  putTag(tag: TagRow): Promise<void>;
  deleteTag(name: string): Promise<void>;
  allocations(kind: string): Promise<string[]>;
  addAllocation(kind: string, value: string, owner: string): Promise<void>;
  releaseAllocations(owner: string): Promise<void>;
}

abstract class BaseStore implements Partial<Store> {
  abstract readonly credentials: CredentialRepo;
  abstract readonly connections: ConnectionRepo;
  abstract readonly tags: TagRepo;
  listTags() {
    return this.tags.list();
  }
  putTag(tag: TagRow) {
    return this.tags.put(tag);
  }
  deleteTag(name: string) {
    return this.tags.delete(name);
  }
  insertToken(t: Omit<TokenRow, 'revokedAt'>) {
    return this.credentials.insertToken(t);
  }
  listTokens() {
    return this.credentials.listTokens();
  }
  revokeToken(id: string) {
    return this.credentials.revokeToken(id);
  }
  isTokenRevoked(id: string) {
    return this.credentials.isTokenRevoked(id);
  }
  kvSet(cloud: string, namespace: string, key: string, value: string) {
    return this.credentials.kvSet(cloud, namespace, key, value);
  }
  kvGet(cloud: string, namespace: string, key: string) {
    return this.credentials.kvGet(cloud, namespace, key);
  }
  kvDelete(cloud: string, namespace: string, key: string) {
    return this.credentials.kvDelete(cloud, namespace, key);
  }
  allocations(kind: string) {
    return this.connections.allocations(kind);
  }
  addAllocation(kind: string, value: string, owner: string) {
    return this.connections.addAllocation(kind, value, owner);
  }
  releaseAllocations(owner: string) {
    return this.connections.releaseAllocations(owner);
  }
}

class SqlStore extends BaseStore implements Store {
  readonly resources: ResourceRepo;
  readonly rules: RuleRepo;
  readonly tags: TagRepo;
  readonly connections: ConnectionRepo;
  readonly operations: OperationRepo;
  readonly events: EventRepo;
  readonly credentials: CredentialRepo;

  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    private readonly tx?: Transaction<Database>,
    private readonly committed: Array<() => void> = [],
  ) {
    super();
    const q = () => this.tx ?? this.db;
    this.resources = new SqlResources(q);
    this.rules = new SqlRules(q);
    this.tags = new SqlTags(q);
    this.connections = new SqlConnections(q);
    this.operations = new SqlOperations(q);
    this.events = new SqlEvents(q);
    this.credentials = new SqlCredentials(q);
  }

  async transaction<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    if (this.tx) return fn(this);
    const committed: Array<() => void> = [];
    const result = await this.db
      .transaction()
      .execute((trx) => fn(new SqlStore(this.db, this.dialect, trx, committed)));
    for (const hook of committed) hook();
    return result;
  }

  afterCommit(hook: () => void): void {
    if (this.tx) this.committed.push(hook);
    else hook();
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}

/**
 * The in-memory fake of every aggregate, for unit tests. Transactions run one
 * at a time; a failed one restores what the repositories held when it began.
 */
class MemoryStore extends BaseStore implements Store {
  readonly dialect = 'memory' as const;
  rules = new MemoryRules();
  resources = new MemoryResources((ns, cloud, name) => this.rules.dropResource(ns, cloud, name));
  tags = new MemoryTags();
  connections = new MemoryConnections();
  operations = new MemoryOperations();
  events = new MemoryEvents();
  credentials = new MemoryCredentials();
  private queue: Promise<unknown> = Promise.resolve();
  private inTx = false;
  private committed: Array<() => void> = [];

  transaction<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    if (this.inTx) return fn(this);
    const run = async () => {
      const saved = this.snapshot();
      this.inTx = true;
      this.committed = [];
      try {
        const result = await fn(this);
        const hooks = this.committed;
        this.inTx = false;
        for (const h of hooks) h();
        return result;
      } catch (e) {
        this.inTx = false;
        this.restore(saved);
        throw e;
      }
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => {});
    return next;
  }

  afterCommit(hook: () => void): void {
    if (this.inTx) this.committed.push(hook);
    else hook();
  }

  async close(): Promise<void> {}

  private snapshot() {
    return structuredClone({
      resources: this.resources.rows,
      rules: this.rules.rules,
      subscriptions: this.rules.subscriptions,
      tags: this.tags.rows,
      connections: this.connections.rows,
      allocated: this.connections.allocated,
      operations: this.operations.rows,
      events: this.events.rows,
      tokens: this.credentials.tokens,
      kv: this.credentials.kv,
    });
  }

  private restore(s: ReturnType<MemoryStore['snapshot']>) {
    const put = <K, V>(target: Map<K, V>, source: Map<K, V>) => {
      target.clear();
      for (const [k, v] of source) target.set(k, v);
    };
    put(this.resources.rows, s.resources);
    put(this.rules.rules, s.rules);
    put(this.rules.subscriptions, s.subscriptions);
    put(this.tags.rows, s.tags);
    put(this.connections.rows, s.connections);
    put(this.connections.allocated, s.allocated);
    put(this.operations.rows, s.operations);
    this.events.rows = s.events;
    put(this.credentials.tokens, s.tokens);
    put(this.credentials.kv, s.kv);
  }
}

export const Store = {
  /** `location` is a file path, ':memory:' or a postgres:// URL. */
  async open(location: string): Promise<Store> {
    const { db, dialect } = await openDb(location);
    return new SqlStore(db, dialect);
  },
  /** Every aggregate in memory (unit tests of the services). */
  memory(): Store {
    return new MemoryStore();
  },
};
