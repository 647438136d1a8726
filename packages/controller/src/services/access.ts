// API tokens: issued with a role, namespaces and expiry, recorded so they can
// be listed and revoked. The first start writes an admin token into
// $SKYWAY_HOME/admin.token (mode 0600).
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { invalidArgument, notFound } from '@skyway/core';
import {
  parseDuration,
  type RevocationList,
  type Role,
  roles,
  type TokenScope,
  type TokenService,
} from '../auth/tokens.js';
import type { Store, TokenRow } from '../store/store.js';
import type { EventBus } from './events.js';

export interface IssuedToken {
  id: string;
  token: string;
  subject: string;
  scope: TokenScope;
  expires_at: string;
}

/**
 * Revocation backed by the store, with the revoked ids kept in memory so the
 * check on every request costs no query. `revoke` goes through AccessService,
 * which updates both.
 */
export class StoreRevocations implements RevocationList {
  private readonly revoked = new Set<string>();
  constructor(private readonly store: Store) {}
  async load(): Promise<this> {
    for (const t of await this.store.listTokens()) if (t.revokedAt) this.revoked.add(t.id);
    return this;
  }
  async isRevoked(id: string) {
    return this.revoked.has(id);
  }
  async revoke(id: string): Promise<boolean> {
    const found = await this.store.revokeToken(id);
    if (found) this.revoked.add(id);
    return found;
  }
}

export class AccessService {
  constructor(
    private readonly store: Store,
    private readonly tokens: TokenService,
    private readonly events: EventBus,
    private readonly revocations: StoreRevocations,
  ) {}

  async create(opts: {
    subject: string;
    role: string;
    namespaces: string[];
    ttl: string;
  }): Promise<IssuedToken> {
    if (!roles.includes(opts.role as Role)) {
      throw invalidArgument(`role must be one of ${roles.join(', ')}; got "${opts.role}"`, 'role');
    }
    if (opts.namespaces.length === 0)
      throw invalidArgument('namespaces must name at least one namespace, or "*"', 'namespaces');
    const scope: TokenScope = { kind: 'api', role: opts.role as Role, namespaces: opts.namespaces };
    return this.issue(opts.subject, scope, parseDuration(opts.ttl, 'ttl'));
  }

  /** Issues and records a token of any scope (API, service, plugin, join). */
  async issue(subject: string, scope: TokenScope, ttlMs: number): Promise<IssuedToken> {
    const { token, claims } = await this.tokens.issue({ subject, scope, ttlMs });
    await this.store.transaction(async (tx) => {
      await tx.insertToken({
        id: claims.id,
        subject,
        scope,
        issuedAt: claims.issuedAt.toISOString(),
        expiresAt: claims.expiresAt.toISOString(),
      });
      await this.events.publish('token.created', claims.id, { subject, scope }, tx);
    });
    return { id: claims.id, token, subject, scope, expires_at: claims.expiresAt.toISOString() };
  }

  list(): Promise<TokenRow[]> {
    return this.store.listTokens();
  }

  async revoke(id: string): Promise<void> {
    if (!(await this.revocations.revoke(id))) throw notFound(`no token with id "${id}"`);
    await this.events.publish('token.revoked', id);
  }

  /** Writes an admin token to `file` unless a valid one is there already. */
  async ensureAdminToken(file: string): Promise<void> {
    const existing = await readFile(file, 'utf8').catch(() => undefined);
    if (existing) {
      const valid = await this.tokens.verify(existing.trim()).then(
        () => true,
        () => false,
      );
      if (valid) return;
    }
    const issued = await this.issue(
      'admin',
      { kind: 'api', role: 'admin', namespaces: ['*'] },
      parseDuration('365d'),
    );
    await writeFile(file, `${issued.token}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
  }
}
