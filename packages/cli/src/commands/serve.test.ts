// `skyway serve` killed with SIGKILL takes its out-of-process plugins with it
// (their control pipe closes), and a restart finds no old plugin still listening.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FAKE_PLUGIN_MAIN } from '@skyway/plugin-sdk/testing';

const bin = new URL('../../bin/skyway', import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), 'skyway-serve-'));
const started: ChildProcess[] = [];
after(() => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  rmSync(home, { recursive: true, force: true });
});
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
writeFileSync(
  join(home, 'skyway.yaml'),
  `listen: 127.0.0.1:0
tunnel_listen: 127.0.0.1:0
service_listen: 127.0.0.1:0
plugins: [fake.yaml]
poll_interval: 0
namespaces:
  default:
    clouds:
      cloud-a: { plugin: fake }
`,
);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Starts `skyway serve`; resolves with its process and the plugin's pid and port, read from its log. */
async function serve(): Promise<{ ctl: ChildProcess; pluginPid: number; pluginPort: number }> {
  const ctl = spawn(bin, ['serve', '--config', join(home, 'skyway.yaml')], {
    env: { ...process.env, SKYWAY_HOME: home },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  started.push(ctl);
  const pluginPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no plugin stderr line in the log within 60 s')), 60_000);
    createInterface({ input: ctl.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as { plugin?: string; stderr?: string };
      const m = /serving http:\/\/127\.0\.0\.1:(\d+)/.exec(entry.stderr ?? '');
      if (entry.plugin === 'fake' && m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    ctl.once('exit', () => reject(new Error('skyway serve exited')));
  });
  const children = readFileSync(`/proc/${ctl.pid}/task/${ctl.pid}/children`, 'utf8').trim().split(/\s+/);
  const pluginPid = children.map(Number).find((pid) => {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('fake-plugin-main');
  });
  assert.ok(pluginPid, `a plugin child among ${children.join(', ')}`);
  return { ctl, pluginPid, pluginPort };
}

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });

test('after SIGKILL of skyway serve its plugin exits, and a restart starts one plugin, not one beside the old', async () => {
  const first = await serve();
  assert.ok(alive(first.pluginPid));
  first.ctl.kill('SIGKILL');
  const killedAt = Date.now();
  while (alive(first.pluginPid) && Date.now() - killedAt < 10_000) await sleep(50);
  const goneMs = Date.now() - killedAt;
  assert.equal(alive(first.pluginPid), false, 'the plugin died with its controller');
  assert.ok(goneMs < 5000, `gone within a few seconds (${goneMs} ms)`);
  console.log(`# plugin gone ${goneMs} ms after SIGKILL of skyway serve`);
  assert.equal(await refused(first.pluginPort), true, 'nothing listens on the old plugin port');

  const second = await serve();
  try {
    assert.notEqual(second.pluginPid, first.pluginPid);
    assert.equal(alive(first.pluginPid), false);
  } finally {
    second.ctl.kill('SIGTERM');
    await new Promise((r) => second.ctl.once('exit', r));
  }
  // A clean stop ends the plugin too.
  for (let i = 0; i < 100 && alive(second.pluginPid); i++) await sleep(50);
  assert.equal(alive(second.pluginPid), false);
});
