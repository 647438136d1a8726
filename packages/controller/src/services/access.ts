// API tokens: issued with a role, namespaces and expiry, recorded so they can
// be listed and revoked. The first start writes an admin token into
// $SKYWAY_HOME/admin.token (mode 0600).
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { invalidArgument, notFound } from '@skyway/core';
import type { Revocations } from '../auth/revocations.js';
import { parseDuration, type Role, roles, type TokenScope, type TokenService } from '../auth/tokens.js';
import type { Store, TokenRow } from '../store/store.js';
import type { EventBus } from './events.js';

export interface IssuedToken {
  id: string;
  token: string;
  subject: string;
  scope: TokenScope;
  expires_at: string;
}

export class AccessService {
  constructor(
    private readonly store: Store,
    private readonly tokens: TokenService,
    private readonly events: EventBus,
    private readonly revocations: Revocations,
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
    // The one revocation list: any credential kind, wherever it was issued.
    if (!(await this.revocations.revoke(id))) throw notFound(`no credential with id "${id}"`);
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
