// `skyway serve` as a user starts it: logs go to $SKYWAY_HOME/logs/skyway.log
// (stdout only with --log-stdout), request lines only at debug with the token
// redacted, and stopping it says what is left running.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/skyway', import.meta.url));

async function serve(level: string, extra: string[] = []) {
  const home = mkdtempSync(join(tmpdir(), 'skyway-serve-'));
  const config = join(home, 'skyway.yaml');
  writeFileSync(
    config,
    'listen: 127.0.0.1:0\ntunnel_listen: 127.0.0.1:0\nservice_listen: 127.0.0.1:0\nnamespaces: {}\n',
  );
  const child = spawn(bin, ['serve', '--config', config, '--log-level', level, ...extra], {
    env: { ...process.env, SKYWAY_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  for (let i = 0; !stderr.includes('serving') && i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`skyway serve exited: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = readFileSync(join(home, 'url'), 'utf8').trim();
  const token = readFileSync(join(home, 'admin.token'), 'utf8').trim();
  const res = await fetch(`${url}/api/v1/plugins`, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
  });
  await res.body?.cancel();
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  const log = join(home, 'logs', 'skyway.log');
  const out = { code, stdout, stderr, token, log: existsSync(log) ? readFileSync(log, 'utf8') : '' };
  rmSync(home, { recursive: true, force: true });
  return out;
}

test('serve logs to its file, request lines only at debug, secrets redacted; stopping says what stays', async () => {
  const info = await serve('info');
  assert.equal(info.code, 0);
  assert.match(info.log, /skyway controller ready/);
  assert.doesNotMatch(info.log, /request completed|incoming request/);
  assert.equal(info.stdout, '', 'nothing on stdout without --log-stdout');
  assert.match(info.stderr, /log in .*logs\/skyway\.log/);
  assert.match(info.stderr, /stopped; the clouds keep what was applied/);

  const debug = await serve('debug', ['--log-stdout']);
  assert.equal(debug.code, 0);
  assert.match(debug.log, /request completed/);
  assert.match(debug.log, /"statusCode":200/);
  assert.ok(!debug.log.includes(debug.token), 'the token never reaches the log');
  assert.match(debug.stdout, /request completed/);
});
