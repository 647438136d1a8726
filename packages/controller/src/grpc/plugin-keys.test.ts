// An out-of-process plugin's key: short-lived, renewed while the process runs
// (the old one revoked once the plugin took the new one), every key revoked
// when the process stops, and the plugin's stderr in the controller's log.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FAKE_PLUGIN_MAIN } from '@skyway/plugin-sdk/testing';
import pino from 'pino';
import { parseConfig } from '../config.js';
import { startController } from '../controller.js';
import { Store } from '../store/store.js';

const home = mkdtempSync(join(tmpdir(), 'skyway-keys-'));
after(() => rmSync(home, { recursive: true, force: true }));
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

test('plugin keys are rotated while the plugin runs and all revoked when it stops', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
        done();
      },
    }),
  );
  const config = parseConfig(
    {
      listen: '127.0.0.1:0',
      plugins: [join(home, 'fake.yaml')],
      namespaces: { default: { clouds: { 'cloud-a': { plugin: 'fake' } } } },
      poll_interval: 0,
      plugin_key_ttl: '3s',
    },
    'test',
    home,
  );
  const c = await startController({ config, listen: false, logger: logger as never });
  const pluginKeys = async () =>
    (await c.store.listTokens()).filter((t) => (t.scope as { kind: string }).kind === 'plugin');
  try {
    const first = await pluginKeys();
    assert.equal(first.length, 1);
    assert.deepEqual(first[0]!.scope, {
      kind: 'plugin',
      plugin: 'fake',
      bindings: [{ namespace: 'default', cloud: 'cloud-a' }],
    });
    assert.ok(Date.parse(first[0]!.expiresAt) - Date.parse(first[0]!.issuedAt) <= 3000, 'short-lived');
    // A new key every second (a third of 3 s); the one before revoked half a second after the plugin took it.
    let later = await pluginKeys();
    for (let i = 0; i < 200 && (later.length < 3 || !later[0]!.revokedAt); i++) {
      await sleep(100);
      later = await pluginKeys();
    }
    assert.ok(later.length >= 3, `rotated: ${later.length} keys`);
    assert.ok(later.find((t) => t.id === first[0]!.id)?.revokedAt, 'the first key is revoked');
    assert.equal(later.filter((t) => !t.revokedAt).length <= 2, true);
    // The plugin calls back (for an address space) with its current key.
    const res = await c.app.inject({
      method: 'POST',
      url: '/api/v1/namespaces/default/clouds/cloud-a/resources',
      headers: { authorization: `Bearer ${c.adminToken}` },
      payload: { name: 'vm-a', description: '{}' },
    });
    assert.equal(res.statusCode, 201, res.body);
    const stderr = lines.filter(
      (l) => l.plugin === 'fake' && l.cloud === 'cloud-a' && l.msg === 'plugin stderr',
    );
    assert.ok(
      stderr.some((l) => /serving http:\/\/127\.0\.0\.1:\d+/.test(String(l.stderr))),
      'stderr in the log',
    );
  } finally {
    await c.close();
  }
  // c.close() closed the store; read it again (not through a controller, which would revoke stale keys itself).
  const store = await Store.open(config.database);
  try {
    const all = (await store.listTokens()).filter((t) => (t.scope as { kind: string }).kind === 'plugin');
    assert.deepEqual(
      all.filter((t) => !t.revokedAt).map((t) => t.id),
      [],
      'every key of the stopped plugin is revoked',
    );
  } finally {
    await store.close();
  }
});
