// The control plane over real TLS: REST and the plugin callbacks served with
// a certificate from the controller's CA; control client certificates as
// principals on REST (mTLS), scoped like their token and revocable; the
// CLI's client trusting the CA from SKYWAY_HOME; and a plain listener beyond
// loopback refused unless insecure.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FAKE_PLUGIN_MAIN } from '@skyway/plugin-sdk/testing';
import { CertificateAuthority } from './ca/ca.js';
import { parseConfig } from './config.js';
import { type RunningController, startController } from './controller.js';

const home = mkdtempSync(join(tmpdir(), 'skyway-tls-'));
after(() => rmSync(home, { recursive: true, force: true }));

/** One HTTPS request with Node's own TLS client: status and body. */
function request(
  url: string,
  opts: { ca?: string; cert?: string; key?: string; token?: string; method?: string; body?: unknown } = {},
): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = https.request(
      url,
      {
        method: opts.method ?? 'GET',
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('TLS on the control plane', () => {
  let c: RunningController;
  let caPem: string;
  before(async () => {
    writeFileSync(
      join(home, 'fake.yaml'),
      `name: fake
version: 0.1.0
summary: In-memory cloud for tests
backend: { package: "@skyway/plugin-sdk", component: createFakePlugin }
runtime: process
command: ["${process.execPath}", "--import", "${import.meta.resolve('tsx')}", "${FAKE_PLUGIN_MAIN}"]
`,
    );
    const config = parseConfig(
      {
        listen: '127.0.0.1:0',
        tls: true,
        plugins: [join(home, 'fake.yaml')],
        poll_interval: 0,
        namespaces: { default: { clouds: { 'cloud-a': { plugin: 'fake' } } }, other: { clouds: {} } },
      },
      'test',
      home,
    );
    c = await startController({ config });
    caPem = readFileSync(join(home, 'ca', 'ca.crt'), 'utf8');
  });
  after(() => c?.close());

  test('REST answers over TLS with the CA, and not in plain HTTP', async () => {
    assert.match(c.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await request(`${c.url}/api/v1/namespaces`, { ca: caPem, token: c.adminToken });
    assert.equal(res.status, 200);
    // Without the CA the certificate is not trusted.
    await assert.rejects(
      request(`${c.url}/api/v1/namespaces`, { token: c.adminToken }),
      /self.signed|unable to verify|certificate/i,
    );
    await assert.rejects(fetch(`${c.url.replace('https:', 'http:')}/ping`));
  });

  test('plugin callbacks are served over TLS: the out-of-process plugin calls back through it', async () => {
    assert.match(c.callbackUrl, /^https:\/\//);
    const r = await request(`${c.url}/api/v1/namespaces/default/clouds/cloud-a/resources`, {
      ca: caPem,
      token: c.adminToken,
      method: 'POST',
      body: { name: 'vm-a', description: '{}' },
    });
    assert.equal(r.status, 201, JSON.stringify(r.json)); // the plugin got its address space over the TLS callback
    assert.equal(r.json.ip, '10.0.0.4');
  });

  test('a control client certificate is a principal on REST, scoped like its token, and revocable', async () => {
    const issued = await request(`${c.url}/api/v1/ca/control-credentials`, {
      ca: caPem,
      token: c.adminToken,
      method: 'POST',
      body: { name: 'ops', role: 'operator', namespaces: ['default'], certificate: true },
    });
    assert.equal(issued.status, 200, JSON.stringify(issued.json));
    const { certificate: cert, key, id } = issued.json.certificate;
    const mtls = { ca: caPem, cert, key };
    const list = await request(`${c.url}/api/v1/namespaces`, mtls);
    assert.equal(list.status, 200, JSON.stringify(list.json));
    assert.deepEqual(
      list.json.namespaces.map((n: { name: string }) => n.name),
      ['default'],
      'sees its own namespace only',
    );
    const tokens = await request(`${c.url}/api/v1/tokens`, mtls);
    assert.equal(tokens.status, 403, 'an operator certificate is not an admin');
    const other = await request(`${c.url}/api/v1/namespaces/other/clouds/x/resources`, {
      ...mtls,
      method: 'POST',
      body: { name: 'vm-x', description: '{}' },
    });
    assert.equal(other.status, 403, 'not scoped to namespace other');
    // Revoked: refused on the next request.
    const revoke = await request(`${c.url}/api/v1/ca/revocations`, {
      ca: caPem,
      token: c.adminToken,
      method: 'POST',
      body: { id },
    });
    assert.equal(revoke.status, 200, JSON.stringify(revoke.json));
    const after = await request(`${c.url}/api/v1/namespaces`, mtls);
    assert.equal(after.status, 401);
    assert.match(after.json.error.message, /revoked/);
  });

  test("a certificate of another CA with Skyway's CA name is no principal", async () => {
    const foreign = await CertificateAuthority.open({
      store: { load: async () => undefined, save: async () => {} } as never,
      name: 'Skyway CA',
    });
    const c2 = await foreign.issueClientWithKey(
      { kind: 'control', name: 'evil', role: 'admin', namespaces: ['*'] },
      60_000,
    );
    const res = await request(`${c.url}/api/v1/tokens`, { ca: caPem, cert: c2.certPem, key: c2.keyPem });
    assert.equal(res.status, 401);
  });
});

test('a plain listener beyond loopback is refused unless insecure; beyond loopback TLS is the default', () => {
  const parse = (o: object) => parseConfig({ listen: '0.0.0.0:7070', ...o }, 'skyway.yaml', home);
  assert.throws(
    () => parse({ tls: false }),
    (e: Error & { field?: string }) => e.field === 'tls' && /insecure: true/.test(e.message),
  );
  assert.equal(parse({}).tls, true);
  assert.equal(parse({ tls: false, insecure: true }).tls, false);
  assert.equal(parseConfig({ listen: '127.0.0.1:7070' }, 'x', home).tls, false, 'loopback stays plain HTTP');
});
