// Bearer tokens: ES256 JWTs that always carry an expiry, scoped to a role and
// namespaces (API tokens) or to one agent service (service tokens), and
// revocable by their `jti`.
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { failedPrecondition, invalidArgument, unauthenticated } from '@skyway/core';
import {
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  errors as joseErrors,
  jwtVerify,
  SignJWT,
} from 'jose';

type Key = Awaited<ReturnType<typeof importJWK>>;

export type Role = 'viewer' | 'operator' | 'admin';
export const roles: readonly Role[] = ['viewer', 'operator', 'admin'];

/** What a token lets its bearer do. */
export type TokenScope =
  | { kind: 'api'; role: Role; namespaces: string[] /* ['*'] = all */ }
  | { kind: 'service'; agent: string; serviceType: string; serviceName: string }
  | { kind: 'plugin'; plugin: string; bindings: PluginKeyBinding[] }
  | { kind: 'join'; agent: string };

/** A (namespace, cloud) a plugin process serves: all its key may act for. */
export interface PluginKeyBinding {
  namespace: string;
  cloud: string;
}

export interface TokenClaims {
  id: string;
  subject: string;
  scope: TokenScope;
  issuedAt: Date;
  expiresAt: Date;
}

export interface RevocationList {
  isRevoked(id: string): Promise<boolean>;
}

/** Tokens issued more than this far in the future are refused (clock skew). */
export const maxClockSkewMs = 5 * 60_000;

const issuer = 'skyway';

/** Parses durations such as "90s", "30m", "12h", "30d". */
export function parseDuration(text: string, field = 'ttl'): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!m) throw invalidArgument(`${field} must look like 90s, 30m, 12h or 30d, got "${text}"`, field);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  const ms = Number(m[1]) * unit;
  if (ms <= 0) throw invalidArgument(`${field} must be positive`, field);
  return ms;
}

export class TokenService {
  private constructor(
    private readonly key: Key,
    private readonly publicKey: Key,
    private readonly revocations: RevocationList,
    private readonly now: () => number,
  ) {}

  /**
   * Loads the signing key from `keyFile`, creating it (mode 0600) on first start; with a
   * `sealer` the file holds it sealed (a plain one from before is sealed on load).
   */
  static async open(opts: {
    keyFile?: string;
    revocations: RevocationList;
    now?: () => number;
    sealer?: { seal(plain: string): string; open(sealed: string): string };
  }): Promise<TokenService> {
    let jwk: JWK | undefined;
    const text = opts.keyFile ? await readFile(opts.keyFile, 'utf8').catch(() => undefined) : undefined;
    const sealed = text?.startsWith('v1:') ?? false;
    if (text) jwk = JSON.parse(sealed && opts.sealer ? opts.sealer.open(text) : text) as JWK;
    const write = async (file: string, k: JWK) => {
      const body = opts.sealer ? opts.sealer.seal(JSON.stringify(k)) : JSON.stringify(k);
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      await writeFile(`${file}.tmp`, body, { mode: 0o600 });
      await chmod(`${file}.tmp`, 0o600);
      await rename(`${file}.tmp`, file);
    };
    if (!jwk) {
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      jwk = await exportJWK(privateKey);
      if (opts.keyFile) await write(opts.keyFile, jwk);
    } else if (opts.keyFile && opts.sealer && !sealed) {
      await write(opts.keyFile, jwk);
    }
    const key = (await importJWK(jwk as never, 'ES256')) as Key;
    const { d: _private, ...pub } = jwk as Record<string, unknown>;
    const publicKey = (await importJWK(pub as never, 'ES256')) as Key;
    return new TokenService(key, publicKey, opts.revocations, opts.now ?? Date.now);
  }

  async issue(opts: { subject: string; scope: TokenScope; ttlMs: number; issuedAt?: number }): Promise<{
    token: string;
    claims: TokenClaims;
  }> {
    if (!(opts.ttlMs > 0)) throw invalidArgument('ttl must be positive', 'ttl');
    const id = randomUUID();
    const iat = Math.floor((opts.issuedAt ?? this.now()) / 1000);
    const exp = iat + Math.ceil(opts.ttlMs / 1000);
    const token = await new SignJWT({ scope: opts.scope })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(issuer)
      .setSubject(opts.subject)
      .setJti(id)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.key);
    return {
      token,
      claims: {
        id,
        subject: opts.subject,
        scope: opts.scope,
        issuedAt: new Date(iat * 1000),
        expiresAt: new Date(exp * 1000),
      },
    };
  }

  /** Tokens whose signature was checked already: ECDSA verification costs more than the request it guards. */
  private readonly verified = new Map<string, JWTPayload>();

  /** Verifies signature, expiry, issue time and revocation; throws Unauthenticated (or CLOCK_SKEW). */
  async verify(token: string): Promise<TokenClaims> {
    const cached = this.verified.get(token);
    if (cached && (cached.exp as number) * 1000 > this.now()) return this.accept(cached);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.publicKey, {
        issuer,
        algorithms: ['ES256'],
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
        currentDate: new Date(this.now()),
      }));
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired)
        throw unauthenticated('token has expired; ask an admin for a new one');
      throw unauthenticated('token is not valid (bad signature, format or claims)');
    }
    if (this.verified.size >= 10_000) this.verified.clear();
    this.verified.set(token, payload);
    return this.accept(payload);
  }

  /** The checks that are cheap enough to repeat on every request: issue time and revocation. */
  private async accept(payload: JWTPayload): Promise<TokenClaims> {
    const issuedAt = (payload.iat as number) * 1000;
    if (issuedAt - this.now() > maxClockSkewMs) {
      throw failedPrecondition(
        `token was issued ${Math.round((issuedAt - this.now()) / 1000)}s in the future; clocks differ by more than 5 minutes`,
        'CLOCK_SKEW',
      );
    }
    const id = payload.jti as string;
    if (await this.revocations.isRevoked(id)) throw unauthenticated('token has been revoked');
    return {
      id,
      subject: payload.sub as string,
      scope: payload.scope as TokenScope,
      issuedAt: new Date(issuedAt),
      expiresAt: new Date((payload.exp as number) * 1000),
    };
  }
}

/** An in-memory revocation list, for tests. */
export class MemoryRevocationList implements RevocationList {
  readonly revoked = new Set<string>();
  async isRevoked(id: string) {
    return this.revoked.has(id);
  }
}
