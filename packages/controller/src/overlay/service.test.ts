// The overlay service below the API: durable across a restart, secrets sealed
// at rest, certificates renewed make-before-break, the overlay CA rotated.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { SecretBox } from '../secrets.js';
import { startSccRig } from './testing.js';

const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'skyway-overlay-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function build(r: Awaited<ReturnType<typeof startSccRig>>) {
  const kube = Buffer.from('kubeconfig-secret-text').toString('base64');
  const ok = (res: { status: number; json: unknown }) =>
    assert.ok(res.status < 300, JSON.stringify(res.json));
  ok(await r.call('POST', '/scc/v1/overlays', { metadata: { name: 'ol' } }));
  ok(
    await r.call('POST', '/scc/v1/overlays/ol/proposals', {
      metadata: { name: 'p' },
      spec: { encryption: 'aes256', hash: 'sha256', dhGroup: 'modp2048' },
    }),
  );
  ok(
    await r.call('POST', '/scc/v1/overlays/ol/ipranges', {
      metadata: { name: 'r' },
      spec: { subnet: '10.200.0.0/24' },
    }),
  );
  ok(
    await r.call('POST', '/scc/v1/overlays/ol/hubs', {
      metadata: { name: 'hub' },
      spec: { publicIps: ['198.18.0.11'], kubeConfig: kube },
    }),
  );
  ok(
    await r.call('POST', '/scc/v1/overlays/ol/devices', {
      metadata: { name: 'dev' },
      spec: { kubeConfig: kube },
    }),
  );
  r.registered.add('dev');
  ok(await r.call('POST', '/scc/v1/overlays/ol/hubs/hub/devices', { device: 'dev' }));
}

describe('overlay service', () => {
  test('everything is there after a restart; kubeconfigs and keys are sealed at rest', async () => {
    const db = join(dir, 'skyway.db');
    const secrets = SecretBox.ephemeral();
    const r = await startSccRig({ database: db, secrets });
    await build(r);
    const before = await r.overlays.documentsFor('dev');
    await r.close();
    const raw =
      readFileSync(db).toString('latin1') + readFileSync(`${db}-wal`, { flag: 'a+' }).toString('latin1');
    assert.ok(!raw.includes('kubeconfig-secret-text'), 'kubeconfig in plain text');
    assert.ok(
      !raw.includes(Buffer.from('kubeconfig-secret-text').toString('base64')),
      'kubeconfig in base64',
    );
    assert.ok(!raw.includes('PRIVATE KEY'), 'a private key in plain text');

    const again = await startSccRig({ database: db, secrets });
    const docs = await again.overlays.documentsFor('dev');
    assert.deepEqual(docs, before);
    assert.equal(docs[0]!.doc.config.tunnels[0]!.role, 'initiator');
    assert.equal(docs[0]!.doc.config.tunnels[0]!.remoteAddrs[0], '198.18.0.11');
    const dev = await again.call('GET', '/scc/v1/overlays/ol/devices/dev');
    assert.equal(dev.json.status.Ip, '10.200.0.2');
    await again.close();
  });

  test('site certificates are renewed before expiry; old and new chain to the same CA', async () => {
    let now = Date.now();
    const r = await startSccRig({ service: { now: () => now, siteCertTtlMs: 30 * DAY } });
    await build(r);
    const [first] = await r.overlays.documentsFor('hub');
    const cert1 = new x509.X509Certificate(first!.doc.certificate!.certPem);
    assert.equal(cert1.subject, 'CN=hub-hub-cert');
    now += 10 * DAY;
    assert.deepEqual(await r.overlays.renewDue(), [], 'not due at a third of the lifetime');
    now += 11 * DAY;
    assert.deepEqual(await r.overlays.renewDue(), ['ol']);
    const [second] = await r.overlays.documentsFor('hub');
    const cert2 = new x509.X509Certificate(second!.doc.certificate!.certPem);
    assert.notEqual(cert2.serialNumber, cert1.serialNumber);
    assert.equal(second!.doc.version, first!.doc.version + 1);
    assert.deepEqual(second!.doc.caPems, first!.doc.caPems, 'the CA stays: the peer accepts old and new');
    const ca = new x509.X509Certificate(second!.doc.caPems[0]!);
    assert.ok(await cert1.verify({ publicKey: ca.publicKey, date: new Date(now) }));
    assert.ok(await cert2.verify({ publicKey: ca.publicKey, date: new Date(now) }));
    await r.close();
  });

  test('a CA rotation trusts both CAs until every site applied a certificate of the new one', async () => {
    const r = await startSccRig();
    await build(r);
    const [old] = await r.overlays.documentsFor('dev');
    await r.overlays.rotateCa('ol');
    const docs = [...(await r.overlays.documentsFor('dev')), ...(await r.overlays.documentsFor('hub'))];
    for (const { doc } of docs) {
      assert.equal(doc.caPems.length, 3);
      assert.equal(doc.caPems[1], old!.doc.caPems[0]);
      const leaf = new x509.X509Certificate(doc.certificate!.certPem);
      assert.ok(await leaf.verify({ publicKey: new x509.X509Certificate(doc.caPems[0]!).publicKey }));
    }
    for (const { doc } of docs) await r.overlays.report('ol', doc.site, doc.version, {});
    await r.overlays.renewDue();
    const [done] = await r.overlays.documentsFor('dev');
    assert.equal(done!.doc.caPems.length, 2, 'the old CA is dropped once all applied the new');
    await r.close();
  });

  test('agents report tunnel states into the connection objects', async () => {
    const r = await startSccRig();
    await build(r);
    const [d] = await r.overlays.documentsFor('dev');
    const t = d!.doc.config.tunnels[0]!;
    await r.overlays.report('ol', d!.doc.site, d!.doc.version, {
      [t.name]: {
        connection: t.connection,
        state: 'failed',
        message: 'NO_PROPOSAL_CHOSEN: the hub accepts none of the proposals',
      },
    });
    const conns = await r.call('GET', '/scc/v1/overlays/ol/devices/dev/connections');
    assert.deepEqual(conns.json[0].information.state, 'failed');
    assert.match(conns.json[0].information.message, /NO_PROPOSAL_CHOSEN/);
    await r.close();
  });
});
