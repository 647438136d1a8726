// The console's sign-in: `skyway ui` asks for a login code (short-lived,
// single use) that stands for the caller's own token; the browser exchanges
// it (or a pasted token) for a session whose id is an HttpOnly cookie. Kept
// in memory: a restarted controller asks the user to sign in again.
import { randomBytes } from 'node:crypto';

interface Entry {
  token: string;
  expires: number;
}

export class ConsoleSessions {
  private readonly codes = new Map<string, Entry>();
  private readonly sessions = new Map<string, Entry>();

  constructor(
    private readonly opts: { codeTtlMs?: number; sessionTtlMs?: number; now?: () => number } = {},
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** A login code for `token`, valid once, for `codeTtlMs` (default 2 minutes). */
  issueCode(token: string): { code: string; expiresAt: Date } {
    this.sweep();
    const code = randomBytes(24).toString('base64url');
    const expires = this.now() + (this.opts.codeTtlMs ?? 120_000);
    this.codes.set(code, { token, expires });
    return { code, expiresAt: new Date(expires) };
  }

  /** The token a code stands for; the code is spent either way. */
  redeemCode(code: string): string | undefined {
    const e = this.codes.get(code);
    this.codes.delete(code);
    return e && e.expires > this.now() ? e.token : undefined;
  }

  /** A session for `token`, at most `sessionTtlMs` (default 12 h; the token's own expiry still applies). */
  open(token: string): { id: string; maxAgeS: number } {
    this.sweep();
    const id = randomBytes(32).toString('base64url');
    const ttl = this.opts.sessionTtlMs ?? 12 * 3_600_000;
    this.sessions.set(id, { token, expires: this.now() + ttl });
    return { id, maxAgeS: Math.floor(ttl / 1000) };
  }

  tokenOf(id: string): string | undefined {
    const e = this.sessions.get(id);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return e.token;
  }

  close(id: string): void {
    this.sessions.delete(id);
  }

  private sweep(): void {
    const now = this.now();
    for (const m of [this.codes, this.sessions]) for (const [k, e] of m) if (e.expires <= now) m.delete(k);
  }
}
