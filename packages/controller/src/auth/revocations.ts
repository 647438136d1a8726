// The one revocation list, for every credential kind: API tokens, control
// certificates, service tokens and certificates, agent certificates, join
// tokens and plugin keys. Every listener consults it (the REST API and the
// plugin callbacks through TokenService.verify, the tunnel and service ports
// through the tunnel's credentials), and whichever route revokes
// (`DELETE /api/v1/tokens/:id`, `POST /api/v1/ca/revocations`, a join token
// used up) goes through it. Revoked ids are kept in memory, so the check on
// every request costs no I/O; each revocation is recorded, before it is
// acknowledged, where its credential was recorded when issued (the store's
// tokens, the CA's issued list), and read back from there at start.

import type { CredentialRegistry, IssuedCredential } from '../ca/store.js';
import { normalizeId } from '../ca/store.js';
import type { Store } from '../store/store.js';
import type { RevocationList } from './tokens.js';

export interface RevokedCredential {
  id: string;
  kind: 'token' | 'certificate';
  purpose?: string;
  subject?: string;
  revokedAt: string;
}

/** A place credentials are recorded when issued. */
export interface RevocationBackend {
  /** Ids revoked before (read once at start). */
  revokedIds(): Promise<string[]>;
  /** Records that `id` is revoked, when this backend issued it; undefined when it does not know it. */
  revoke(id: string, at: Date): Promise<RevokedCredential | undefined>;
}

export class Revocations implements RevocationList {
  private readonly revoked = new Set<string>();
  private readonly listeners = new Set<(id: string) => void>();

  private constructor(private readonly backends: RevocationBackend[]) {}

  static async open(backends: RevocationBackend[]): Promise<Revocations> {
    const r = new Revocations(backends);
    for (const b of backends) for (const id of await b.revokedIds()) r.revoked.add(normalizeId(id));
    return r;
  }

  isRevokedSync(id: string): boolean {
    return this.revoked.has(normalizeId(id));
  }

  async isRevoked(id: string): Promise<boolean> {
    return this.isRevokedSync(id);
  }

  /**
   * Revokes a token (by id) or certificate (by serial) of any kind; its listeners end what it has
   * open. Undefined when no backend issued it.
   */
  async revoke(id: string, at = new Date()): Promise<RevokedCredential | undefined> {
    let found: RevokedCredential | undefined;
    for (const b of this.backends) found = (await b.revoke(id, at)) ?? found;
    if (!found) return undefined;
    this.revoked.add(normalizeId(found.id));
    this.revoked.add(normalizeId(id));
    for (const l of this.listeners) l(found.id);
    return found;
  }

  /** `listener` hears every id revoked from now on; returns the unsubscribe. */
  onRevoked(listener: (id: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The store's tokens (API tokens and plugin keys). */
export function storeTokenBackend(store: Store): RevocationBackend {
  return {
    async revokedIds() {
      return (await store.listTokens()).filter((t) => t.revokedAt).map((t) => t.id);
    },
    async revoke(id, at) {
      if (!(await store.revokeToken(id))) return undefined;
      return { id, kind: 'token', revokedAt: at.toISOString() };
    },
  };
}

/** The CA's issued list (certificates, and the tokens issued with them: service, join, control). */
export function registryBackend(registry: CredentialRegistry): RevocationBackend {
  const view = (e: IssuedCredential, at: Date): RevokedCredential => ({
    id: e.id,
    kind: e.kind,
    purpose: e.purpose,
    subject: e.subject,
    revokedAt: e.revokedAt ?? at.toISOString(),
  });
  return {
    async revokedIds() {
      return (await registry.list()).filter((e) => e.revokedAt).map((e) => e.id);
    },
    async revoke(id, at) {
      const e = await registry.revoke(id, at);
      return e && view(e, at);
    },
  };
}
