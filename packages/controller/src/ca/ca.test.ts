import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tls from 'node:tls';
import { CertificateAuthority, createCsr, generateKeyPair } from './ca.js';
import { identityFromAltNames } from './identity.js';
import { openFileCa } from './index.js';
import { MemoryCaKeyStore, MemoryCredentialRegistry, normalizeId } from './store.js';

test('issues server and client certificates that pass mTLS and carry the identity', async () => {
  const registry = new MemoryCredentialRegistry();
  const ca = await CertificateAuthority.open({ store: new MemoryCaKeyStore(), registry });
  const server = await ca.issueServer({ names: ['localhost', '127.0.0.1'] });
  const { keys, keyPem } = await generateKeyPair();
  const csr = await createCsr('ignored', keys);
  const client = await ca.signCsr(csr, { kind: 'agent', agent: 'edge-1' }, 3_600_000);
  const srv = tls.createServer({
    cert: server.certPem,
    key: server.keyPem,
    ca: ca.certPem,
    requestCert: true,
    rejectUnauthorized: true,
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const seen = once(srv, 'secureConnection');
  const port = (srv.address() as { port: number }).port;
  const sock = tls.connect({ port, host: '127.0.0.1', ca: ca.certPem, cert: client.certPem, key: keyPem });
  await once(sock, 'secureConnect');
  const [conn] = (await seen) as [tls.TLSSocket];
  const peer = conn.getPeerCertificate();
  assert.deepEqual(identityFromAltNames(peer.subjectaltname), { kind: 'agent', agent: 'edge-1' });
  assert.equal(normalizeId(peer.serialNumber), normalizeId(client.serial));
  assert.equal((await registry.get(peer.serialNumber))?.purpose, 'agent');
  sock.destroy();
  srv.close();
});

test('file CA: created once with a 0600 key, then reloaded', async () => {
  const home = await mkdtemp(join(tmpdir(), 'skyway-ca-'));
  try {
    const a = await openFileCa(home);
    assert.equal((await stat(join(home, 'ca', 'ca.key'))).mode & 0o777, 0o600);
    const b = await openFileCa(home);
    assert.equal(a.ca.certPem, b.ca.certPem);
    const c = await a.ca.issueClientWithKey({ kind: 'control', name: 'ops', role: 'admin' }, 60_000);
    await a.registry.revoke(c.serial);
    const reread = await openFileCa(home);
    assert.equal(await reread.registry.isRevoked(c.serial), true);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test('rejects a CSR that is not one', async () => {
  const ca = await CertificateAuthority.open({ store: new MemoryCaKeyStore() });
  await assert.rejects(ca.signCsr('nope', { kind: 'agent', agent: 'a' }, 1000), { code: 'INVALID_ARGUMENT' });
});
