import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type PluginDescriptor, parseDescriptor } from './descriptor.js';
import { PluginRegistry } from './registry.js';

const desc = (name: string, version: string, extra = ''): PluginDescriptor =>
  parseDescriptor(
    `name: ${name}\nversion: ${version}\nsummary: The ${name} cloud\nbackend: { package: p-${name}, component: C }\nruntime: in-process\n${extra}`,
    `${name}-${version}.yaml`,
  );

describe('PluginRegistry', () => {
  it('keeps several versions side by side and picks the latest by semver', () => {
    const r = new PluginRegistry();
    r.add(desc('aws', '1.9.0'));
    r.add(desc('aws', '1.10.0'));
    r.add(desc('aws', '2.0.0-rc.1'));
    assert.equal(r.get('aws').version, '1.10.0', 'a release outranks a newer pre-release by default');
    assert.equal(r.get('aws', '1.9.0').version, '1.9.0');
    assert.deepEqual(r.versions('aws'), ['2.0.0-rc.1', '1.10.0', '1.9.0']);
    r.add(desc('aws', '2.0.0'));
    assert.equal(r.get('aws').version, '2.0.0');
  });

  it('refuses a duplicate version unless replacing, and removes versions', () => {
    const r = new PluginRegistry();
    r.add(desc('gcp', '1.0.0'));
    assert.throws(() => r.add(desc('gcp', '1.0.0')), /already registered/);
    r.add(desc('gcp', '1.0.0', 'tags: [x]\n'), { replace: true });
    assert.deepEqual(r.get('gcp').tags, ['x']);
    r.add(desc('gcp', '1.1.0'));
    r.remove('gcp', '1.1.0');
    assert.equal(r.get('gcp').version, '1.0.0');
    assert.throws(
      () => r.get('gcp', '3.0.0'),
      (e: Error & { code?: string }) => e.code === 'NOT_FOUND',
    );
    r.remove('gcp');
    assert.equal(r.has('gcp'), false);
    assert.throws(() => r.get('gcp'), /no plugin named gcp/);
    assert.throws(() => r.remove('gcp'), /no plugin named gcp/);
  });

  it('returns copies, so callers cannot change what it holds', () => {
    const r = new PluginRegistry();
    r.add(desc('aws', '1.0.0'));
    r.get('aws').tags.push('mutated');
    assert.deepEqual(r.get('aws').tags, []);
  });

  it('ranks name matches above tags above summary/description text', () => {
    const r = new PluginRegistry();
    r.add(desc('azure', '1.0.0', 'tags: [microsoft]\ncategories: [public-cloud]\n'));
    r.add(desc('vpn-hub', '1.0.0', 'tags: [azure]\ncategories: [networking]\n'));
    r.add(desc('lab', '1.0.0', 'description: Emulates azure-like networks\ncategories: [networking]\n'));
    r.add(desc('aws', '1.0.0', 'tags: [amazon]\n'));
    const names = (hits: ReturnType<PluginRegistry['search']>) => hits.map((h) => h.descriptor.name);
    assert.deepEqual(names(r.search({ text: 'azure' })), ['azure', 'vpn-hub', 'lab']);
    assert.deepEqual(names(r.search({ text: 'azure', category: 'networking' })), ['vpn-hub', 'lab']);
    assert.deepEqual(names(r.search({ tag: 'AMAZON' })), ['aws']);
    assert.deepEqual(
      names(r.search({ text: 'azure cloud' })),
      ['azure', 'vpn-hub', 'lab'],
      'every word must match',
    );
    assert.deepEqual(names(r.search({ text: 'azure nothing' })), []);
    assert.equal(r.search().length, 4);
  });

  it('loads a directory of YAML files and names a bad one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skyway-reg-'));
    try {
      const body = (v: string) =>
        `name: aws\nversion: ${v}\nsummary: Amazon\nbackend: { package: a, component: B }\ncommand: [node, main.js]\n`;
      await writeFile(join(dir, 'aws-1.yaml'), body('1.0.0'));
      await writeFile(join(dir, 'aws-2.yml'), body('2.0.0'));
      await writeFile(join(dir, 'README.md'), 'not a descriptor');
      const r = await PluginRegistry.fromDirectory(dir);
      assert.deepEqual(r.versions('aws'), ['2.0.0', '1.0.0']);
      assert.equal(r.get('aws').source, join(dir, 'aws-2.yml'));
      await writeFile(join(dir, 'broken.yaml'), 'name: broken\n');
      await assert.rejects(PluginRegistry.fromDirectory(dir), /broken\.yaml: .*version is required/);
      await assert.rejects(PluginRegistry.fromDirectory(join(dir, 'nope')), /cannot read plugin directory/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
