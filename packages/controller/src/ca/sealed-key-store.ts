// The CA's private key sealed at rest: ca.key holds it encrypted under the
// master key (see secrets.ts); a plain PEM from before is sealed on first load.
import { chmod, rename, writeFile } from 'node:fs/promises';
import type { Sealer } from '../secrets.js';
import { type CaKeyStore, type CaMaterial, FileCaKeyStore } from './store.js';

const isSealed = (text: string) => text.startsWith('v1:');

export class SealedCaKeyStore implements CaKeyStore {
  private readonly inner: FileCaKeyStore;
  constructor(
    dir: string,
    private readonly sealer: Sealer,
  ) {
    this.inner = new FileCaKeyStore(dir);
  }

  get keyFile() {
    return this.inner.keyFile;
  }

  async load(): Promise<CaMaterial | undefined> {
    const m = await this.inner.load();
    if (!m) return undefined;
    const keyText = m.keyPem.trim();
    if (isSealed(keyText)) return { certPem: m.certPem, keyPem: this.sealer.open(keyText) };
    // A key written before keys were sealed: seal it in place.
    const tmp = `${this.inner.keyFile}.${process.pid}.tmp`;
    await writeFile(tmp, this.sealer.seal(m.keyPem), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.inner.keyFile);
    return m;
  }

  save(m: CaMaterial): Promise<void> {
    return this.inner.save({ certPem: m.certPem, keyPem: this.sealer.seal(m.keyPem) });
  }
}
