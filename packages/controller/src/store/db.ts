// Opens the store: SQLite (WAL) at $SKYWAY_HOME/skyway.db by default, or
// PostgreSQL when the URL is postgres://. The same query code runs on both.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { migrationProvider } from './migrations.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface OpenedDb {
  db: Kysely<Database>;
  dialect: Dialect;
}

/** `location` is a file path, ':memory:' or a postgres:// URL. */
export async function openDb(location: string): Promise<OpenedDb> {
  let opened: OpenedDb;
  if (/^postgres(ql)?:\/\//.test(location)) {
    const pool = new pg.Pool({ connectionString: location, max: 10 });
    opened = { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), dialect: 'postgres' };
  } else {
    if (location !== ':memory:') mkdirSync(dirname(location), { recursive: true });
    const sqlite = new SQLite(location);
    sqlite.pragma('journal_mode = WAL');
    // NORMAL in WAL mode is durable across a process kill (only an OS crash can lose the last commit).
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    opened = {
      db: new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) }),
      dialect: 'sqlite',
    };
  }
  const { error, results } = await new Migrator({
    db: opened.db,
    provider: migrationProvider(opened.dialect),
  }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    await opened.db.destroy();
    throw new Error(`store migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
  return opened;
}

/**
 * Kysely prepares every query anew; preparing costs more than running for the
 * small queries the controller makes. Statements are reused by SQL text (the
 * dialect runs one query at a time on its single connection, so sharing is safe).
 */
function withStatementCache(db: SQLite.Database, limit = 1000): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>();
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'prepare') {
        return (sql: string) => {
          let stmt = cache.get(sql);
          if (!stmt) {
            if (cache.size >= limit) cache.clear();
            stmt = target.prepare(sql);
            cache.set(sql, stmt);
          }
          return stmt;
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
