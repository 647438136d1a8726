import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SkywayError } from '@skyway/core';
import { loadDescriptor, parseDescriptor } from './descriptor.js';

const minimal = `
name: aws
version: 1.2.0
summary: Amazon Web Services
backend: { package: '@skyway/plugin-aws', component: AwsPlugin }
command: [node, --import, tsx, src/main.ts]
`;

function refused(yaml: string, field: string, text: RegExp, source = 'plugins/aws.yaml') {
  assert.throws(
    () => parseDescriptor(yaml, source),
    (e: unknown) => {
      assert.ok(e instanceof SkywayError);
      assert.equal(e.code, 'INVALID_DESCRIPTOR');
      assert.equal(e.field, field);
      assert.ok(e.message.startsWith(`${source}: `), e.message);
      assert.match(e.message, text);
      return true;
    },
  );
}

describe('parseDescriptor', () => {
  it('applies defaults to a minimal descriptor', () => {
    const d = parseDescriptor(minimal, 'plugins/aws.yaml');
    assert.equal(d.name, 'aws');
    assert.equal(d.runtime, 'process');
    assert.deepEqual(d.tags, []);
    assert.deepEqual(d.categories, []);
    assert.deepEqual(d.default_config, {});
    assert.deepEqual(d.command, ['node', '--import', 'tsx', 'src/main.ts']);
    assert.equal(d.source, 'plugins/aws.yaml');
  });

  it('reads every field of a full descriptor', () => {
    const d = parseDescriptor(
      `
name: gvl
version: 5.0.0-beta.1+build.7
summary: Galaxy
maintainer: team@example.org
categories: [science]
tags: [galaxy, genomics]
default_config: { region: us-east-1, sizes: [1, 2] }
description: |
  A long text.
backend: { package: gvl-backend, component: GVLPlugin }
frontend: { package: gvl-ui, component: GvlLaunch }
interfaces:
  launch: { backend: { package: gvl-backend, component: Launch }, frontend: { package: gvl-ui, component: L } }
  admin: { backend: { package: gvl-backend, component: Admin } }
runtime: remote
url: https://plugins.example.org:8443/gvl
capabilities: [permit-lists, vpn]
`,
      'gvl.yaml',
    );
    assert.equal(d.runtime, 'remote');
    assert.equal(d.url, 'https://plugins.example.org:8443/gvl');
    assert.deepEqual(d.default_config, { region: 'us-east-1', sizes: [1, 2] });
    assert.equal(d.interfaces.admin?.backend?.component, 'Admin');
    assert.equal(d.frontend?.package, 'gvl-ui');
    assert.deepEqual(d.capabilities, ['permit-lists', 'vpn']);
    assert.equal(d.description, 'A long text.\n');
  });

  it('names a missing nested field and the file', () => {
    refused(
      minimal.replace("package: '@skyway/plugin-aws', ", ''),
      'backend.package',
      /plugins\/aws\.yaml: backend\.package is required/,
    );
  });

  it('refuses unknown fields, top-level and nested', () => {
    refused(`${minimal}colour: blue\n`, 'colour', /colour is not a known field/);
    refused(
      minimal.replace('component: AwsPlugin', 'component: AwsPlugin, klass: X'),
      'backend.klass',
      /backend\.klass is not a known field/,
    );
  });

  it('checks the name pattern', () => {
    refused(minimal.replace('name: aws', 'name: Aws_1'), 'name', /name must match/);
    refused(minimal.replace('name: aws', 'name: 1aws'), 'name', /name must match/);
  });

  it('requires a semver version and says how to quote it', () => {
    refused(minimal.replace('1.2.0', '1.2'), 'version', /not a string|quote/);
    refused(minimal.replace('1.2.0', '"1.2"'), 'version', /version "1.2" is not semver/);
    refused(minimal.replace('1.2.0', 'v1.2.0'), 'version', /not semver/);
  });

  it('checks types with array indexes in the path', () => {
    refused(`${minimal}tags: [ok, 3]\n`, 'tags[1]', /tags\[1\] must be a string/);
    refused(`${minimal}default_config: [1]\n`, 'default_config', /default_config must be an object/);
  });

  it('ties command and url to the runtime', () => {
    refused(minimal.replace(/command:.*\n/, ''), 'command', /command is required when runtime is process/);
    refused(`${minimal}runtime: remote\n`, 'command', /only used with runtime: process/);
    refused(
      minimal.replace(/command:.*\n/, 'runtime: remote\n'),
      'url',
      /url is required when runtime is remote/,
    );
    refused(minimal.replace(/command:.*\n/, 'runtime: remote\nurl: ftp://x\n'), 'url', /http/);
    refused(`${minimal}runtime: docker\n`, 'runtime', /runtime must be one of in-process, process, remote/);
    const inproc = parseDescriptor(minimal.replace(/command:.*\n/, 'runtime: in-process\n'));
    assert.equal(inproc.runtime, 'in-process');
  });

  it('refuses broken YAML, duplicate keys and non-mappings', () => {
    refused('name: [', '', /not valid YAML/);
    refused(`${minimal}name: again\n`, '', /not valid YAML.*unique/);
    refused('- a\n- b\n', '', /must be a YAML mapping/);
    refused('', '', /must be a YAML mapping/);
  });
});

describe('loadDescriptor', () => {
  it('reads a file and names it in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skyway-desc-'));
    try {
      const ok = join(dir, 'aws.yaml');
      await writeFile(ok, minimal);
      assert.equal((await loadDescriptor(ok)).source, ok);
      const bad = join(dir, 'bad.yaml');
      await writeFile(bad, 'name: x\n');
      await assert.rejects(loadDescriptor(bad), (e: Error) => e.message.startsWith(`${bad}: `));
      await assert.rejects(
        loadDescriptor(join(dir, 'none.yaml')),
        /none\.yaml: cannot read descriptor: no such file/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
