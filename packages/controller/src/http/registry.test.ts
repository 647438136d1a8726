// The plugin registry over REST: every descriptor the config names (files, and
// directories of them, versions side by side), searched and read one at a time.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../config.js';
import { startController } from '../controller.js';
import { type Harness, startHarness } from '../testing/harness.js';

const descriptor = (name: string, version: string, more = '') => `name: ${name}
version: ${version}
summary: ${name} for tests
backend: { package: "@skyway/plugin-sdk", component: createFakePlugin }
runtime: in-process
${more}`;

describe('plugin registry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skyway-registry-'));
  let h: Harness;

  before(async () => {
    mkdirSync(join(dir, 'catalog'));
    writeFileSync(join(dir, 'catalog', 'fake-1.yaml'), descriptor('fake', '0.1.0', 'tags: [fake]'));
    writeFileSync(join(dir, 'catalog', 'fake-2.yaml'), descriptor('fake', '0.2.0', 'tags: [fake]'));
    writeFileSync(
      join(dir, 'aws.yaml'),
      descriptor('aws-vpc', '1.0.0', 'categories: [cloud]\ntags: [aws, ipsec]\nmaintainer: net team'),
    );
    h = await startHarness({ plugins: [join(dir, 'catalog'), join(dir, 'aws.yaml')] });
  });
  after(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const names = async (query: string) => {
    const r = await h.call('GET', `/api/v1/registry${query}`);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json.plugins.map((p: { name: string }) => p.name);
  };

  it('lists every plugin once, as its latest version, with the clouds it serves', async () => {
    const r = await h.call('GET', '/api/v1/registry');
    assert.deepEqual(
      r.json.plugins.map((p: Record<string, unknown>) => [p.name, p.version, p.versions, p.clouds]),
      [
        ['aws-vpc', '1.0.0', ['1.0.0'], []],
        ['fake', '0.2.0', ['0.2.0', '0.1.0'], ['default/east', 'default/west', 'other/east']],
      ],
    );
    assert.equal(r.json.plugins[0].maintainer, 'net team');
  });

  it('searches by words, category and tag', async () => {
    assert.deepEqual(await names('?q=ipsec'), ['aws-vpc']);
    assert.deepEqual(await names('?q=FAKE%20tests'), ['fake']);
    assert.deepEqual(await names('?q=for'), ['aws-vpc', 'fake']);
    assert.deepEqual(await names('?category=cloud'), ['aws-vpc']);
    assert.deepEqual(await names('?tag=fake'), ['fake']);
    assert.deepEqual(await names('?q=azure'), []);
  });

  it('refuses an unknown query field, naming it', async () => {
    const r = await h.call('GET', '/api/v1/registry?query=aws');
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'VALIDATION_FAILED');
    assert.equal(r.json.error.field, 'query');
  });

  it('reads one descriptor, the latest or the version asked for, without its path on the host', async () => {
    const latest = await h.call('GET', '/api/v1/registry/fake');
    assert.equal(latest.status, 200);
    assert.equal(latest.json.version, '0.2.0');
    assert.deepEqual(latest.json.backend, { package: '@skyway/plugin-sdk', component: 'createFakePlugin' });
    assert.equal(latest.json.source, undefined);
    assert.equal((await h.call('GET', '/api/v1/registry/fake?version=0.1.0')).json.version, '0.1.0');
    const missing = await h.call('GET', '/api/v1/registry/fake?version=9.9.9');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.message, 'plugin fake has no version 9.9.9 (has 0.2.0, 0.1.0)');
    assert.equal((await h.call('GET', '/api/v1/registry/azure')).json.error.code, 'NOT_FOUND');
  });

  it('shows a scoped token only the clouds of its namespaces', async () => {
    const viewer = await h.call('POST', '/api/v1/tokens', {
      subject: 'v',
      role: 'viewer',
      namespaces: ['other'],
      ttl: '1h',
    });
    const r = await h.call('GET', '/api/v1/registry/fake', undefined, viewer.json.token);
    assert.deepEqual(r.json.clouds, ['other/east']);
  });

  it('refuses a config that names one version of a plugin twice', async () => {
    const config = parseConfig(
      { listen: '127.0.0.1:0', plugins: [join(dir, 'catalog'), join(dir, 'catalog', 'fake-1.yaml')] },
      'test',
      join(dir, 'home'),
    );
    await assert.rejects(
      startController({ config, listen: false }),
      /plugin fake version 0\.1\.0 \(.*catalog\/fake-1\.yaml\) is already registered \(from .*catalog\/fake-1\.yaml\)/,
    );
  });
});
