export * from './ca.js';
export * from './identity.js';
export * from './store.js';

import { join } from 'node:path';
import { CertificateAuthority } from './ca.js';
import { FileCaKeyStore, FileCredentialRegistry } from './store.js';

/** Opens (creating on first start) the CA and its registry under `$SKYWAY_HOME/ca`. */
export async function openFileCa(home: string, now?: () => number) {
  const dir = join(home, 'ca');
  const registry = await FileCredentialRegistry.open(dir);
  const ca = await CertificateAuthority.open({ store: new FileCaKeyStore(dir), registry, now });
  return { ca, registry, dir };
}
