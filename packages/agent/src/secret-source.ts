// A secret value taken literally, from a file (re-read when it may have
// rotated) or from the environment. Values are trimmed, must be one line and
// are never logged.
import { readFileSync } from 'node:fs';

/** Whether `s` can go into a header value as it is (no line break or NUL to end it early). */
export const isOneLine = (s: string) => !/[\r\n\0]/.test(s);

export interface SecretRef {
  value?: string;
  file?: string;
  env?: string;
}

export class SecretSource {
  private cached?: { value: string; at: number };
  constructor(
    readonly what: string,
    private readonly ref: SecretRef,
    private readonly refreshMs = 10_000,
  ) {
    const n = [ref.value, ref.file, ref.env].filter((x) => x !== undefined).length;
    if (n !== 1) throw new Error(`${what}: give exactly one of value, file or env`);
  }

  get(): string {
    const now = Date.now();
    if (this.cached && now - this.cached.at < this.refreshMs) return this.cached.value;
    let value: string;
    if (this.ref.value !== undefined) value = this.ref.value;
    else if (this.ref.env !== undefined) {
      const v = process.env[this.ref.env];
      if (v === undefined) throw new Error(`${this.what}: environment variable ${this.ref.env} is not set`);
      value = v;
    } else {
      try {
        value = readFileSync(this.ref.file!, 'utf8');
      } catch (e) {
        throw new Error(`${this.what}: cannot read ${this.ref.file}: ${(e as NodeJS.ErrnoException).code}`);
      }
    }
    value = value.trim();
    // It goes into a request header: a line break would end the header (or the head) early.
    if (!isOneLine(value))
      throw new Error(`${this.what}: contains a line break or NUL; a secret must be one line`);
    this.cached = { value, at: now };
    return value;
  }
}

/** Builds a SecretSource from a config object holding `<key>`, `<key>File` or `<key>Env`. */
export function secretFrom(
  config: Record<string, unknown>,
  key: string,
  what: string,
  refreshMs?: number,
): SecretSource | undefined {
  const value = config[key];
  const file = config[`${key}File`];
  const env = config[`${key}Env`];
  if (value === undefined && file === undefined && env === undefined) return undefined;
  return new SecretSource(
    what,
    {
      value: value === undefined ? undefined : String(value),
      file: file === undefined ? undefined : String(file),
      env: env === undefined ? undefined : String(env),
    },
    refreshMs,
  );
}
