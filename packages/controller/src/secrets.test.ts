import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MemoryRevocationList, TokenService } from './auth/tokens.js';
import { CertificateAuthority } from './ca/ca.js';
import { openFileCa } from './ca/index.js';
import { CONFIG_SEALED_PREFIX, MASTER_KEY_ENV, SecretBox } from './secrets.js';

const home = mkdtempSync(join(tmpdir(), 'skyway-secrets-'));
after(() => rmSync(home, { recursive: true, force: true }));

test('the master key comes from the environment, else master_key_file, else $SKYWAY_HOME/secret.key (0600)', () => {
  const fromHome = SecretBox.forHome(home, { env: {} });
  assert.equal(statSync(join(home, 'secret.key')).mode & 0o777, 0o600);
  const sealed = fromHome.seal('psk');
  assert.equal(SecretBox.forHome(home, { env: {} }).open(sealed), 'psk', 'the same key on the next start');
  const key = randomBytes(32).toString('base64');
  const fromEnv = SecretBox.forHome(home, { env: { [MASTER_KEY_ENV]: key } });
  assert.throws(() => fromEnv.open(sealed), /does not open with this master key/);
  const file = join(home, 'elsewhere.key');
  writeFileSync(file, key);
  assert.equal(SecretBox.forHome(home, { keyFile: file, env: {} }).open(fromEnv.seal('x')), 'x');
  assert.throws(() => SecretBox.forHome(home, { keyFile: join(home, 'none'), env: {} }), /does not exist/);
  assert.throws(() => SecretBox.forHome(home, { env: { [MASTER_KEY_ENV]: 'c2hvcnQ=' } }), /32 bytes/);
});

test('sealed config values are opened where they are, and a wrong one names its field', () => {
  const box = SecretBox.ephemeral();
  const cfg = { region: 'r1', auth: { secret: `${CONFIG_SEALED_PREFIX}${box.seal('s3cr3t')}` }, list: ['a'] };
  assert.deepEqual(box.openConfig(cfg, 'config'), { region: 'r1', auth: { secret: 's3cr3t' }, list: ['a'] });
  const other = SecretBox.ephemeral();
  assert.throws(
    () => other.openConfig(cfg, 'namespaces.default.clouds.aws.config'),
    (e: Error & { field?: string }) => e.field === 'namespaces.default.clouds.aws.config.auth.secret',
  );
});

test('a token signing key and a CA key written in clear by an older version are sealed on load', async () => {
  const dir = join(home, 'legacy');
  mkdirSync(join(dir, 'ca'), { recursive: true });
  const box = SecretBox.ephemeral();
  // The older controller: plain JWK and plain PEM.
  const old = await TokenService.open({
    keyFile: join(dir, 'token-key.jwk'),
    revocations: new MemoryRevocationList(),
  });
  const { token } = await old.issue({ subject: 's', scope: { kind: 'join', agent: 'a' }, ttlMs: 60_000 });
  assert.match(readFileSync(join(dir, 'token-key.jwk'), 'utf8'), /^\{/);
  const material = await CertificateAuthority.generate('Legacy CA');
  writeFileSync(join(dir, 'ca', 'ca.key'), material.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'ca', 'ca.crt'), material.certPem);

  const now = await TokenService.open({
    keyFile: join(dir, 'token-key.jwk'),
    revocations: new MemoryRevocationList(),
    sealer: box,
  });
  assert.equal((await now.verify(token)).subject, 's', 'the same signing key');
  assert.match(readFileSync(join(dir, 'token-key.jwk'), 'utf8'), /^v1:/);
  const { ca } = await openFileCa(dir, undefined, box);
  assert.equal(ca.certPem, material.certPem);
  const keyFile = readFileSync(join(dir, 'ca', 'ca.key'), 'utf8');
  assert.match(keyFile, /^v1:/);
  assert.equal(box.open(keyFile), material.keyPem);
  // And it still signs.
  assert.ok((await ca.issueServer({ names: ['localhost'] })).certPem);
});
