// What the tunnel needs from the controller, as small interfaces: the
// controller's one credential service (tokens, certificate identities and its
// one revocation list), its CA, its error catalog's HTTP statuses and its
// logger. The tunnel keeps no credentials, revocations or loggers of its own.
import type { SkywayError } from '@skyway/core';

/** What a Skyway client certificate stands for (read from its subjectAltName). */
export type TunnelCertIdentity =
  | { kind: 'agent'; agent: string }
  | { kind: 'service'; agent: string; serviceType: string; serviceName: string }
  | { kind: 'control'; name: string };

/** What a bearer token lets its holder do, as far as the tunnel cares. */
export type TunnelTokenScope =
  | { kind: 'service'; agent: string; serviceType: string; serviceName: string }
  | { kind: 'join'; agent: string }
  | { kind: 'api' | 'plugin' };

export interface TunnelTokenClaims {
  id: string;
  scope: TunnelTokenScope;
  expiresAt: Date;
}

export interface TunnelCredentials {
  /** Signature, expiry and revocation; throws a domain error (Unauthenticated) when not valid. */
  verifyToken(token: string): Promise<TunnelTokenClaims>;
  /** The identity in a peer certificate's subjectAltName (Node's `subjectaltname` string). */
  identify(altNames: string | undefined): TunnelCertIdentity | undefined;
  /** The one revocation list (token ids and certificate serials), checked on every use. */
  isRevoked(id: string): boolean;
  /** Revokes a credential (a join token once used). */
  revoke(id: string): Promise<unknown>;
  /** Called with each id revoked from now on, to end what it has open; returns the unsubscribe. */
  onRevoked(listener: (id: string) => void): () => void;
}

/** The controller's CA, as far as the tunnel uses it. */
export interface TunnelCa {
  readonly certPem: string;
  issueServer(opts: { names: string[] }): Promise<{ certPem: string; keyPem: string }>;
  signCsr(
    csrPem: string,
    identity: { kind: 'agent'; agent: string },
    ttlMs: number,
  ): Promise<{ certPem: string; serial: string; notAfter: Date }>;
}

/** The HTTP status of a domain error, from the controller's error catalog. */
export type StatusOf = (e: SkywayError) => number;

type LogFn = (obj: object, msg?: string) => void;
/** The controller's logger (pino-compatible). */
export interface TunnelLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

/** Certificate serials compare as uppercase hex without leading zeros (Node prints them with, and with colons). */
export function normalizeSerial(id: string): string {
  if (/^[0-9a-fA-F:]+$/.test(id) && id.length >= 16)
    return id.replace(/:/g, '').toUpperCase().replace(/^0+/, '');
  return id;
}
