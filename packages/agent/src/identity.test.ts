import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { type AgentIdentity, IdentityStore } from './identity.js';

/** A self-signed certificate for 127.0.0.1 (the controller stand-in) and its key, PEM. */
async function selfSigned(cn: string) {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${cn}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: alg,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
  });
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return {
    cert: cert.toString('pem'),
    key: `-----BEGIN PRIVATE KEY-----\n${pkcs8}\n-----END PRIVATE KEY-----\n`,
  };
}

test('a renewal answered with a certificate for another key is refused and the stored identity stays', async () => {
  const home = await mkdtemp(join(tmpdir(), 'skyway-identity-'));
  const server = await selfSigned('skyway-identity-test');
  const current = await selfSigned('agent');
  // The "controller" answers every renewal with its own certificate: not for the agent's new key.
  const https = createServer({ cert: server.cert, key: server.key }, (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ certificate: server.cert }));
  });
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  try {
    const port = (https.address() as { port: number }).port;
    const id: AgentIdentity = {
      agent: 'edge-1',
      controller: `127.0.0.1:${port}`,
      serverName: '127.0.0.1',
      ca: server.cert,
      cert: current.cert,
      key: current.key,
      notBefore: 0,
      notAfter: 0,
    };
    const store = new IdentityStore(home);
    await assert.rejects(store.renew(id), /certificate for another key/);
    assert.equal(await store.load(), undefined);
    await assert.rejects(readFile(join(home, 'identity.json')), { code: 'ENOENT' });
  } finally {
    https.close();
    await rm(home, { recursive: true, force: true });
  }
});
