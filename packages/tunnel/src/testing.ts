// In-memory stand-ins for what the controller passes the tunnel, for the
// tunnel's own unit tests: tokens are looked up rather than verified, and
// revocations are a set.
import { type SkywayError, unauthenticated } from '@skyway/core';
import {
  normalizeSerial,
  type StatusOf,
  type TunnelCertIdentity,
  type TunnelCredentials,
  type TunnelLogger,
  type TunnelTokenClaims,
} from './credentials.js';

const nothing = () => {};
export const silentLogger: TunnelLogger = { debug: nothing, info: nothing, warn: nothing, error: nothing };

const statuses: Partial<Record<SkywayError['kind'], number>> = {
  InvalidArgument: 400,
  Unauthenticated: 401,
  PermissionDenied: 403,
  FailedPrecondition: 412,
  Unavailable: 503,
};
export const fakeStatusOf: StatusOf = (e) => statuses[e.kind] ?? 500;

/** Certificates name their identity as `URI:fake://<json>` in these tests. */
export const fakeAltNames = (id: TunnelCertIdentity) => `URI:fake://${JSON.stringify(id)}`;

export class FakeCredentials implements TunnelCredentials {
  readonly tokens = new Map<string, TunnelTokenClaims>();
  readonly revoked = new Set<string>();
  private readonly listeners = new Set<(id: string) => void>();

  /** A token for `scope`, valid for `ttlMs`. */
  issue(scope: TunnelTokenClaims['scope'], ttlMs = 60_000): { token: string; claims: TunnelTokenClaims } {
    const id = `tok-${this.tokens.size + 1}`;
    const claims = { id, scope, expiresAt: new Date(Date.now() + ttlMs) };
    this.tokens.set(`token-${id}`, claims);
    return { token: `token-${id}`, claims };
  }

  async verifyToken(token: string) {
    const c = this.tokens.get(token);
    if (!c) throw unauthenticated('token is not valid (bad signature, format or claims)');
    if (this.revoked.has(c.id)) throw unauthenticated('token has been revoked');
    return c;
  }
  identify(altNames: string | undefined) {
    const m = /URI:fake:\/\/(\{.*\})/.exec(altNames ?? '');
    return m ? (JSON.parse(m[1]!) as TunnelCertIdentity) : undefined;
  }
  isRevoked(id: string) {
    return this.revoked.has(normalizeSerial(id));
  }
  async revoke(id: string) {
    this.revoked.add(normalizeSerial(id));
    for (const l of this.listeners) l(id);
  }
  onRevoked(listener: (id: string) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
