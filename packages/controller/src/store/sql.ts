// What every SQL repository shares: the connection or transaction it runs on.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

export type Db = Kysely<Database> | Transaction<Database>;
/** The repository's queries run on whatever this returns: the pool, or the open transaction. */
export type DbRef = () => Db;

export const now = () => new Date().toISOString();

export const chunk = <T>(items: T[], size: number) =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

export const keyOf = (...parts: string[]) => parts.join('\0');
