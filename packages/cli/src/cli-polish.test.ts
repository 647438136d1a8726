// The CLI as a person reads it, against a real controller (in-process fake
// cloud) on loopback: rule tables say tcp and any, `events` says it is
// following and how to see history, `drift check --report-only` exits 2 on drift.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseConfig, type RunningController, startController } from '@skyway/controller';
import { inProcess } from '@skyway/plugin-sdk';
import { createFakePlugin, type FakePlugin } from '@skyway/plugin-sdk/testing';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/skyway', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'skyway-cli-'));
const env = { ...process.env, SKYWAY_HOME: home };
let c: RunningController;
let fake: FakePlugin;

before(async () => {
  c = await startController({
    config: parseConfig(
      {
        listen: '127.0.0.1:0',
        namespaces: { default: { clouds: { east: { plugin: 'fake' } } } },
        poll_interval: 0,
      },
      'test',
      home,
    ),
    inProcessPlugins: {
      fake: ({ cloud, controller }) => {
        fake = createFakePlugin({ cloud, controller });
        return fake;
      },
    },
  });
});
after(async () => {
  await c.close();
  rmSync(home, { recursive: true, force: true });
});

const skyway = (...args: string[]) => run(bin, args, { env });

test('rule tables name protocols and ports; drift check --report-only exits 2 on drift', async () => {
  await skyway('resource', 'create', 'web-1', '--cloud', 'east');
  await skyway(
    'rule',
    'add',
    'web-1',
    '--cloud',
    'east',
    '--name',
    'http-in',
    '--port',
    '80',
    '--tag',
    '10.2.0.0/16',
  );
  await skyway(
    'rule',
    'add',
    'web-1',
    '--cloud',
    'east',
    '--name',
    'all-in',
    '--protocol',
    'any',
    '--tag',
    '10.3.0.0/16',
  );
  const { stdout } = await skyway('rule', 'get', 'web-1', '--cloud', 'east');
  assert.match(stdout, /http-in\s+INBOUND\s+tcp\s+any\s+80\s/);
  assert.match(stdout, /all-in\s+INBOUND\s+any\s+any\s+any\s/);
  assert.doesNotMatch(stdout, /\s-1\s/);
  const json = JSON.parse((await skyway('--json', 'rule', 'get', 'web-1', '--cloud', 'east')).stdout);
  assert.equal(
    json.rules.find((r: { name: string }) => r.name === 'http-in').protocol,
    6,
    '--json keeps numbers',
  );

  assert.equal((await skyway('drift', 'check', '--report-only')).stdout.includes('no drift'), true);
  const uri = (await c.services.resources.require('default', 'east', 'web-1')).uri;
  await inProcess(fake).deletePermitListRules({
    namespace: 'default',
    resource: uri,
    ruleNames: ['http-in'],
  });
  const drifted = await skyway('drift', 'check', '--report-only').then(
    () => 0,
    (e: { code: number }) => e.code,
  );
  assert.equal(drifted, 2);
  assert.equal((await skyway('drift', 'check')).stdout.includes('yes'), true, 'a repairing check exits 0');
});

test('events says that it follows, and how to see history', async () => {
  const child = spawn(bin, ['events'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  for (let i = 0; i < 100 && !stderr.includes('following'); i++) await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGTERM');
  assert.match(stderr, /following new events \(Ctrl-C stops\); history too: skyway events --since 0/);
});

test('skyway ui prints the console URL with a login code that signs in once', async () => {
  const { stdout } = await skyway('ui');
  const url = stdout.split('\n')[0]!;
  assert.match(url, new RegExp(`^${c.url}/ui/#code=[A-Za-z0-9_-]{20,}$`));
  const code = url.split('#code=')[1];
  const signIn = () =>
    fetch(`${c.url}/api/v1/ui/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
  assert.equal((await signIn()).status, 200);
  assert.equal((await signIn()).status, 401);
});
