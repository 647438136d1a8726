// What the CA must keep across restarts: its own key and certificate, and the
// credentials it issued (certificate serials and token ids) with their
// revocations. Each has a file-backed implementation under $SKYWAY_HOME/ca and
// an in-memory one for tests; the controller may later back them by its store.
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RevocationList } from '../auth/tokens.js';

export interface CaMaterial {
  certPem: string;
  keyPem: string;
}

export interface CaKeyStore {
  load(): Promise<CaMaterial | undefined>;
  save(material: CaMaterial): Promise<void>;
}

export interface IssuedCredential {
  /** Token id (jti) or certificate serial (uppercase hex). */
  id: string;
  kind: 'token' | 'certificate';
  /** What it is for: agent, service, control, join, server. */
  purpose: string;
  subject: string;
  /** Scope details, never secrets. */
  scope: Record<string, string>;
  issuedAt: string;
  expiresAt: string;
  revokedAt?: string;
}

/** Issued credentials and their revocations; also the token service's RevocationList. */
export interface CredentialRegistry extends RevocationList {
  record(entry: IssuedCredential): Promise<void>;
  get(id: string): Promise<IssuedCredential | undefined>;
  list(): Promise<IssuedCredential[]>;
  /** Marks a credential revoked; returns it, or undefined when unknown. */
  revoke(id: string, at?: Date): Promise<IssuedCredential | undefined>;
  /** Synchronous check for hot paths (the registry keeps revocations in memory). */
  isRevokedSync(id: string): boolean;
}

export class FileCaKeyStore implements CaKeyStore {
  constructor(readonly dir: string) {}
  get certFile() {
    return join(this.dir, 'ca.crt');
  }
  get keyFile() {
    return join(this.dir, 'ca.key');
  }
  async load(): Promise<CaMaterial | undefined> {
    try {
      const [certPem, keyPem] = await Promise.all([
        readFile(this.certFile, 'utf8'),
        readFile(this.keyFile, 'utf8'),
      ]);
      return { certPem, keyPem };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }
  async save(m: CaMaterial): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(this.keyFile, m.keyPem, { mode: 0o600, flag: 'wx' });
    await chmod(this.keyFile, 0o600);
    await writeFile(this.certFile, m.certPem, { mode: 0o644 });
  }
}

export class MemoryCaKeyStore implements CaKeyStore {
  material?: CaMaterial;
  async load() {
    return this.material;
  }
  async save(m: CaMaterial) {
    this.material = m;
  }
}

export class MemoryCredentialRegistry implements CredentialRegistry {
  protected readonly entries = new Map<string, IssuedCredential>();
  protected readonly revoked = new Set<string>();

  protected load(list: IssuedCredential[]) {
    for (const e of list) {
      this.entries.set(e.id, e);
      if (e.revokedAt) this.revoked.add(e.id);
    }
  }
  protected async persist(): Promise<void> {}

  async record(entry: IssuedCredential) {
    this.entries.set(entry.id, entry);
    this.prune();
    await this.persist();
  }
  async get(id: string) {
    return this.entries.get(normalizeId(id)) ?? this.entries.get(id);
  }
  async list() {
    return [...this.entries.values()];
  }
  async revoke(id: string, at = new Date()) {
    const e = (await this.get(id)) ?? undefined;
    const key = e?.id ?? normalizeId(id);
    this.revoked.add(key);
    if (e) {
      e.revokedAt ??= at.toISOString();
      await this.persist();
    }
    return e;
  }
  async isRevoked(id: string) {
    return this.isRevokedSync(id);
  }
  isRevokedSync(id: string) {
    return this.revoked.has(id) || this.revoked.has(normalizeId(id));
  }
  /** Forgets credentials that expired more than a day ago (their revocation no longer matters). */
  private prune() {
    const cutoff = Date.now() - 86_400_000;
    for (const [id, e] of this.entries) {
      if (Date.parse(e.expiresAt) < cutoff) {
        this.entries.delete(id);
        this.revoked.delete(id);
      }
    }
  }
}

/** Keeps the registry in $SKYWAY_HOME/ca/issued.json, rewritten atomically on each change. */
export class FileCredentialRegistry extends MemoryCredentialRegistry {
  private writing: Promise<void> = Promise.resolve();
  private constructor(private readonly file: string) {
    super();
  }
  static async open(dir: string): Promise<FileCredentialRegistry> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const r = new FileCredentialRegistry(join(dir, 'issued.json'));
    try {
      r.load(JSON.parse(await readFile(r.file, 'utf8')) as IssuedCredential[]);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    return r;
  }
  protected override persist(): Promise<void> {
    const data = JSON.stringify([...this.entries.values()], null, 1);
    const next = this.writing.then(async () => {
      const tmp = `${this.file}.${process.pid}.tmp`;
      await writeFile(tmp, data, { mode: 0o600 });
      await rename(tmp, this.file);
    });
    this.writing = next.catch(() => {});
    return next;
  }
}

/** Certificate serials compare as uppercase hex without leading zeros. */
export function normalizeId(id: string): string {
  if (/^[0-9a-fA-F:]+$/.test(id) && id.length >= 16)
    return id.replace(/:/g, '').toUpperCase().replace(/^0+/, '');
  return id;
}
