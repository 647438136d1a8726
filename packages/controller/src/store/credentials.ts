// The credentials aggregate: API tokens issued (and revoked), and the
// key-value store plugins keep their own state in.
import type { DbRef } from './sql.js';
import { keyOf, now } from './sql.js';

export interface TokenRow {
  id: string;
  subject: string;
  scope: unknown;
  issuedAt: string;
  expiresAt: string;
  revokedAt?: string;
}

export interface CredentialRepo {
  insertToken(t: Omit<TokenRow, 'revokedAt'>): Promise<void>;
  listTokens(): Promise<TokenRow[]>;
  /** Returns false when no such token was issued. */
  revokeToken(id: string): Promise<boolean>;
  isTokenRevoked(id: string): Promise<boolean>;
  kvSet(cloud: string, namespace: string, key: string, value: string): Promise<void>;
  kvGet(cloud: string, namespace: string, key: string): Promise<string | undefined>;
  kvDelete(cloud: string, namespace: string, key: string): Promise<void>;
}

export class SqlCredentials implements CredentialRepo {
  constructor(private readonly q: DbRef) {}

  async insertToken(t: Omit<TokenRow, 'revokedAt'>): Promise<void> {
    await this.q()
      .insertInto('tokens')
      .values({
        id: t.id,
        subject: t.subject,
        scope: JSON.stringify(t.scope),
        issued_at: t.issuedAt,
        expires_at: t.expiresAt,
        revoked_at: null,
      })
      .execute();
  }

  async listTokens(): Promise<TokenRow[]> {
    const rows = await this.q().selectFrom('tokens').selectAll().orderBy('issued_at').execute();
    return rows.map((r) => ({
      id: r.id,
      subject: r.subject,
      scope: JSON.parse(r.scope),
      issuedAt: r.issued_at,
      expiresAt: r.expires_at,
      revokedAt: r.revoked_at ?? undefined,
    }));
  }

  async revokeToken(id: string): Promise<boolean> {
    const res = await this.q()
      .updateTable('tokens')
      .set({ revoked_at: now() })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async isTokenRevoked(id: string): Promise<boolean> {
    const r = await this.q()
      .selectFrom('tokens')
      .select('revoked_at')
      .where('id', '=', id)
      .executeTakeFirst();
    return !!r?.revoked_at;
  }

  async kvSet(cloud: string, namespace: string, key: string, value: string): Promise<void> {
    await this.q()
      .insertInto('kv')
      .values({ cloud, namespace, key, value })
      .onConflict((oc) => oc.columns(['cloud', 'namespace', 'key']).doUpdateSet({ value }))
      .execute();
  }

  async kvGet(cloud: string, namespace: string, key: string): Promise<string | undefined> {
    const r = await this.q()
      .selectFrom('kv')
      .select('value')
      .where('cloud', '=', cloud)
      .where('namespace', '=', namespace)
      .where('key', '=', key)
      .executeTakeFirst();
    return r?.value;
  }

  async kvDelete(cloud: string, namespace: string, key: string): Promise<void> {
    await this.q()
      .deleteFrom('kv')
      .where('cloud', '=', cloud)
      .where('namespace', '=', namespace)
      .where('key', '=', key)
      .execute();
  }
}

export class MemoryCredentials implements CredentialRepo {
  readonly tokens = new Map<string, TokenRow>();
  readonly kv = new Map<string, string>();
  async insertToken(t: Omit<TokenRow, 'revokedAt'>) {
    if (this.tokens.has(t.id)) throw new Error(`UNIQUE constraint failed: tokens ${t.id}`);
    this.tokens.set(t.id, structuredClone(t));
  }
  async listTokens() {
    return [...this.tokens.values()]
      .sort((a, b) => a.issuedAt.localeCompare(b.issuedAt))
      .map((t) => structuredClone(t));
  }
  async revokeToken(id: string) {
    const t = this.tokens.get(id);
    if (t) t.revokedAt = now();
    return !!t;
  }
  async isTokenRevoked(id: string) {
    return !!this.tokens.get(id)?.revokedAt;
  }
  async kvSet(cloud: string, namespace: string, key: string, value: string) {
    this.kv.set(keyOf(cloud, namespace, key), value);
  }
  async kvGet(cloud: string, namespace: string, key: string) {
    return this.kv.get(keyOf(cloud, namespace, key));
  }
  async kvDelete(cloud: string, namespace: string, key: string) {
    this.kv.delete(keyOf(cloud, namespace, key));
  }
}
