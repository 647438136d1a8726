// The CLI's client against a controller serving TLS: it trusts the CA from
// SKYWAY_HOME (and nothing else trusts it), reading url and token from there.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseConfig, startController } from '@skyway/controller';
import { type ApiError, createApiClient } from './client.js';

const home = mkdtempSync(join(tmpdir(), 'skyway-cli-tls-'));
after(() => rmSync(home, { recursive: true, force: true }));

test('the CLI reaches an https controller through the CA in SKYWAY_HOME', async () => {
  const c = await startController({
    config: parseConfig({ listen: '127.0.0.1:0', tls: true, poll_interval: 0 }, 'test', home),
  });
  const saved = process.env.SKYWAY_HOME;
  process.env.SKYWAY_HOME = home;
  try {
    const client = createApiClient();
    assert.match(client.url, /^https:/);
    const r = await client.get<{ namespaces: unknown[] }>('/api/v1/namespaces');
    assert.ok(Array.isArray(r.namespaces));
    // Another home, whose CA did not sign the controller's certificate: refused.
    process.env.SKYWAY_HOME = mkdtempSync(join(tmpdir(), 'skyway-cli-other-'));
    const stranger = createApiClient({ url: c.url, token: c.adminToken });
    await assert.rejects(stranger.get('/api/v1/namespaces'), (e: ApiError) => {
      assert.equal(e.code, 'UNAVAILABLE');
      assert.match(e.message, /CERT|certificate|verify/i);
      return true;
    });
    rmSync(process.env.SKYWAY_HOME, { recursive: true, force: true });
  } finally {
    process.env.SKYWAY_HOME = saved;
    await c.close();
  }
});
