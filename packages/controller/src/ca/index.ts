export * from './ca.js';
export * from './identity.js';
export * from './sealed-key-store.js';
export * from './store.js';

import { join } from 'node:path';
import type { Sealer } from '../secrets.js';
import { CertificateAuthority } from './ca.js';
import { SealedCaKeyStore } from './sealed-key-store.js';
import { FileCaKeyStore, FileCredentialRegistry } from './store.js';

/**
 * Opens (creating on first start) the CA and its registry under `$SKYWAY_HOME/ca`;
 * with a `sealer`, the CA key is kept sealed in ca.key.
 */
export async function openFileCa(home: string, now?: () => number, sealer?: Sealer) {
  const dir = join(home, 'ca');
  const registry = await FileCredentialRegistry.open(dir);
  const store = sealer ? new SealedCaKeyStore(dir, sealer) : new FileCaKeyStore(dir);
  const ca = await CertificateAuthority.open({ store, registry, now });
  return { ca, registry, dir };
}
