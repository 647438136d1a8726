// Secrets at rest (the CA key, the token signing key, VPN shared keys, plugin
// KV values, cloud credentials in config) are sealed with AES-256-GCM under a
// master key that is never in the store: SKYWAY_MASTER_KEY (base64 of 32
// bytes), else the file the config's master_key_file names, else
// $SKYWAY_HOME/secret.key (mode 0600, created on first start).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { failedPrecondition, invalidArgument } from '@skyway/core';

/** What seals and opens text; the TokenService and the CA key store take this much. */
export interface Sealer {
  seal(plain: string): string;
  open(sealed: string): string;
}

export const MASTER_KEY_ENV = 'SKYWAY_MASTER_KEY';
/** How a sealed value is written in a config file (`skyway secret seal` prints it). */
export const CONFIG_SEALED_PREFIX = 'sealed:';
const PREFIX = 'v1:';

const decodeKey = (text: string, where: string) => {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw failedPrecondition(`${where} must hold 32 bytes, base64-encoded`);
  return key;
};

export class SecretBox implements Sealer {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('secret key must be 32 bytes');
  }

  static fromFile(file: string): SecretBox {
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
    }
    chmodSync(file, 0o600);
    return new SecretBox(decodeKey(readFileSync(file, 'utf8'), file));
  }

  /** The master key from the environment, the given file, or $home/secret.key (in that order). */
  static forHome(home: string, opts: { keyFile?: string; env?: NodeJS.ProcessEnv } = {}): SecretBox {
    const fromEnv = (opts.env ?? process.env)[MASTER_KEY_ENV];
    if (fromEnv) return new SecretBox(decodeKey(fromEnv, MASTER_KEY_ENV));
    if (opts.keyFile) {
      if (!existsSync(opts.keyFile))
        throw failedPrecondition(`master_key_file ${opts.keyFile} does not exist`);
      return new SecretBox(decodeKey(readFileSync(opts.keyFile, 'utf8'), opts.keyFile));
    }
    return SecretBox.fromFile(join(home, 'secret.key'));
  }

  static ephemeral(): SecretBox {
    return new SecretBox(randomBytes(32));
  }

  static isSealed(text: string): boolean {
    return text.startsWith(PREFIX);
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${PREFIX}${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  open(sealed: string): string {
    const raw = Buffer.from(sealed.replace(/^v1:/, ''), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw failedPrecondition('a sealed secret does not open with this master key (wrong or rotated key?)');
    }
  }

  /** Opens a sealed value; a value from before sealing (plain text) is returned as it is. */
  openLegacy(text: string): string {
    return SecretBox.isSealed(text) ? this.open(text) : text;
  }

  /**
   * Every string `sealed:v1:...` in a cloud's config, opened (cloud credentials are
   * written sealed in skyway.yaml and only opened to hand them to their plugin).
   */
  openConfig<T>(value: T, field: string): T {
    if (typeof value === 'string' && value.startsWith(CONFIG_SEALED_PREFIX)) {
      try {
        return this.open(value.slice(CONFIG_SEALED_PREFIX.length)) as T;
      } catch {
        throw invalidArgument(
          `${field}: the sealed value does not open with this controller's master key`,
          field,
        );
      }
    }
    if (Array.isArray(value)) return value.map((v, i) => this.openConfig(v, `${field}[${i}]`)) as T;
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, this.openConfig(v, `${field}.${k}`)]),
      ) as T;
    }
    return value;
  }
}

/** Writes `text` to `file` with mode 0600, atomically (temporary file, then rename). */
export function writePrivateFile(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** Log paths that may carry a secret (pino redact syntax), beside the REST API's own (http/app.ts). */
export const secretLogPaths = [
  'token',
  'apiKey',
  '*.apiKey',
  'key',
  '*.key',
  '*.keyPem',
  '*.privateKey',
  '*.credentials',
  '*.value',
  'req.headers["proxy-authorization"]',
  'req.headers["x-api-key"]',
];

/** The files Skyway writes under $SKYWAY_HOME (beside the ca/ directory and the SQLite store). */
export const homeFiles = ['secret.key', 'token-key.jwk', 'admin.token', 'url', 'tunnel.json'];
