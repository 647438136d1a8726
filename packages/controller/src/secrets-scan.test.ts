// A controller session that makes every kind of secret (API and control
// tokens, a control key, plugin keys, a plugin KV value, a VPN shared key, a
// cloud credential from the config, the CA key and the token signing key),
// then a scan of the store, every file under SKYWAY_HOME, the log and every
// response: no secret in clear, except in the one response that hands it out.
// Also: every file Skyway wrote is 0600 and every directory 0700.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { connectController } from '@skyway/plugin-sdk';
import { createFakePlugin, FAKE_PLUGIN_MAIN, type FakePlugin } from '@skyway/plugin-sdk/testing';
import pino from 'pino';
import { parseConfig } from './config.js';
import { startController } from './controller.js';
import { redactPaths } from './http/app.js';
import { CONFIG_SEALED_PREFIX, SecretBox, secretLogPaths } from './secrets.js';

const home = mkdtempSync(join(tmpdir(), 'skyway-scan-'));
after(() => rmSync(home, { recursive: true, force: true }));

/** Every file under `dir`, recursively. */
const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
const dirs = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => [join(dir, e.name), ...dirs(join(dir, e.name))]);
/** A stretch of a PEM's base64 body past the ASN.1 header every P-256 key shares: the key itself. */
const pemBody = (pem: string) => pem.split('\n').slice(1, 3).join('').slice(64, 100);

test('no plaintext secret in the store, SKYWAY_HOME, the log or the responses of a session', async () => {
  writeFileSync(
    join(home, 'fake.yaml'),
    `name: fake-proc
version: 0.1.0
summary: In-memory cloud for tests
backend: { package: "@skyway/plugin-sdk", component: createFakePlugin }
runtime: process
command: ["${process.execPath}", "--import", "${import.meta.resolve('tsx')}", "${FAKE_PLUGIN_MAIN}"]
`,
  );
  const box = SecretBox.forHome(home); // the controller will find the same key file
  const cloudCredential = `sky-cloud-credential-${randomBytes(12).toString('hex')}`;
  const log: string[] = [];
  const logger = pino(
    { level: 'trace', redact: { paths: [...redactPaths, ...secretLogPaths], censor: '[redacted]' } },
    new Writable({
      write(chunk, _enc, done) {
        log.push(String(chunk));
        done();
      },
    }),
  );
  const config = parseConfig(
    {
      listen: '127.0.0.1:0',
      plugins: [join(home, 'fake.yaml')],
      poll_interval: 0,
      namespaces: {
        default: {
          clouds: {
            east: {
              plugin: 'fake',
              config: { api_secret: `${CONFIG_SEALED_PREFIX}${box.seal(cloudCredential)}` },
            },
            west: { plugin: 'fake' },
            far: { plugin: 'fake-proc' },
          },
        },
      },
    },
    'test',
    home,
  );
  const fakes = new Map<string, FakePlugin>();
  const configs = new Map<string, Record<string, unknown>>();
  const c = await startController({
    config,
    logger: logger as never,
    inProcessPlugins: {
      fake: ({ cloud, controller, config: cc }) => {
        configs.set(cloud, cc);
        const f = createFakePlugin({ cloud, controller });
        fakes.set(cloud, f);
        return f;
      },
    },
  });
  /** Every response body, with what it was for. */
  const responses: Array<{ what: string; body: string }> = [];
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${c.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${c.adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    responses.push({ what: `${method} ${path}`, body: text });
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  };
  const secrets: Array<{ what: string; value: string; issuedBy?: string }> = [];
  let pluginKey = '';
  try {
    assert.equal(configs.get('east')?.api_secret, cloudCredential, 'the plugin got the credential opened');
    const token = await api('POST', '/api/v1/tokens', {
      subject: 'ci',
      role: 'operator',
      namespaces: ['default'],
      ttl: '1h',
    });
    secrets.push({ what: 'API token', value: token.token, issuedBy: 'POST /api/v1/tokens' });
    const control = await api('POST', '/api/v1/ca/control-credentials', {
      name: 'ops',
      role: 'viewer',
      certificate: true,
    });
    secrets.push({
      what: 'control token',
      value: control.token,
      issuedBy: 'POST /api/v1/ca/control-credentials',
    });
    secrets.push({
      what: 'control key',
      value: pemBody(control.certificate.key),
      issuedBy: 'POST /api/v1/ca/control-credentials',
    });
    // Two clouds connected: a VPN shared key, generated by the controller, handed to both plugins.
    for (const [cloud, name] of [
      ['east', 'vm-a'],
      ['west', 'vm-b'],
      ['far', 'vm-c'],
    ]) {
      await api('POST', `/api/v1/namespaces/default/clouds/${cloud}/resources`, { name, description: '{}' });
    }
    await api('POST', '/api/v1/namespaces/default/clouds/east/resources/vm-a/rules', {
      name: 'from-b',
      direction: 'INBOUND',
      protocol: 6,
      dst_port: 80,
      tags: ['default.west.vm-b'],
    });
    const psk = fakes.get('east')!.snapshot().connections[0]?.sharedKey;
    assert.ok(psk, 'a VPN shared key was made');
    secrets.push({ what: 'VPN shared key', value: psk });
    // A plugin KV value, set through the callback port with a plugin key.
    const kvKey = await c.services.access.issue(
      'plugin:default/east',
      { kind: 'plugin', plugin: 'fake', bindings: [{ namespace: 'default', cloud: 'east' }] },
      60_000,
    );
    secrets.push({ what: 'plugin key (issued in the test)', value: kvKey.token });
    const kvValue = `sky-kv-value-${randomBytes(12).toString('hex')}`;
    const ctl = connectController({ url: c.callbackUrl, token: kvKey.token });
    await ctl.client.setValue({ key: 'vpn-psk', value: kvValue });
    assert.equal((await ctl.client.getValue({ key: 'vpn-psk' })).value, kvValue);
    ctl.close();
    secrets.push({ what: 'plugin KV value', value: kvValue });
    // The out-of-process plugin's own key, read from its environment.
    const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/);
    for (const pid of children) {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      const k = env.find((e) => e.startsWith('SKYWAY_PLUGIN_API_KEY='));
      if (k) pluginKey = k.slice('SKYWAY_PLUGIN_API_KEY='.length);
    }
    assert.ok(pluginKey, 'found the plugin process key');
    secrets.push({ what: "the plugin process's key", value: pluginKey });
    for (const path of [
      '/api/v1/connections',
      '/api/v1/tokens',
      '/api/v1/plugins',
      '/api/v1/plugins/default/east',
      '/api/v1/plugins/default/far',
      '/api/v1/ca',
      '/api/v1/namespaces/default/clouds/east/resources/vm-a/rules',
    ]) {
      await api('GET', path);
    }
  } finally {
    await c.close();
  }
  secrets.push({ what: 'admin token', value: c.adminToken });
  secrets.push({ what: 'cloud credential from the config', value: cloudCredential });
  // The keys at rest, opened with the master key to know what to look for.
  const caKey = box.open(readFileSync(join(home, 'ca', 'ca.key'), 'utf8'));
  assert.match(caKey, /BEGIN PRIVATE KEY/);
  secrets.push({ what: 'CA private key', value: pemBody(caKey) });
  const jwk = JSON.parse(box.open(readFileSync(join(home, 'token-key.jwk'), 'utf8'))) as { d: string };
  secrets.push({ what: 'token signing key', value: jwk.d });

  // The master key and the admin token file are the two credentials kept in clear, by design.
  const files = walk(home).filter((f) => !['secret.key', 'admin.token'].includes(f.slice(home.length + 1)));
  assert.ok(files.some((f) => f.endsWith('skyway.db')));
  const found: string[] = [];
  for (const f of files) {
    const text = readFileSync(f).toString('latin1');
    for (const s of secrets) if (text.includes(s.value)) found.push(`${s.what} in ${f}`);
  }
  const logText = log.join('');
  assert.ok(logText.includes('plugin stderr'), 'the log has the plugin stderr');
  for (const s of secrets) if (logText.includes(s.value)) found.push(`${s.what} in the log`);
  for (const r of responses) {
    for (const s of secrets)
      if (r.what !== s.issuedBy && r.body.includes(s.value)) found.push(`${s.what} in ${r.what}`);
  }
  assert.deepEqual(found, []);
  console.log(
    `# scanned ${files.length} files, ${log.length} log lines, ${responses.length} responses for ${secrets.length} secrets`,
  );

  // Modes: every file 0600, every directory 0700.
  const modes = [
    ...walk(home)
      .filter((f) => !f.endsWith('fake.yaml'))
      .map((f) => [f, statSync(f).mode & 0o777, 0o600] as const),
    ...[home, ...dirs(home)].map((d) => [d, statSync(d).mode & 0o777, 0o700] as const),
  ];
  assert.deepEqual(
    modes.filter(([, mode, want]) => mode !== want).map(([f, mode]) => `${f} ${mode.toString(8)}`),
    [],
  );
});
