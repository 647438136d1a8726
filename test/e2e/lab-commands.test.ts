// A lab VM's description.command runs as nobody inside the VM's namespace (it
// used to run as root on the host), may still serve on port 80 there, and a
// lab cloud whose config does not allow commands refuses a VM with one.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Code, ConnectError } from '@connectrpc/connect';
import { RUN_DIR, teardown } from '@skyway/dataplane';
import { createLocalPlugin, type LocalPlugin } from '@skyway/plugin-local';
import { createFakeController, inProcess, inProcessController, type PluginClient } from '@skyway/plugin-sdk';
import { description, eventually, httpGet, runner, skipReason, testId } from './lab-helpers.js';

const skip = skipReason();
const id = testId();
const cloud = `${id}-cmd`;
const deployment = { id: 'lab', namespace: 'default' };

describe('lab VM commands', { skip, timeout: 120_000 }, () => {
  const plugins: LocalPlugin[] = [];
  let allowed: PluginClient;
  let strict: PluginClient;
  const vmNs = (name: string) => `sky.${cloud}.v.default.r1.${name}`;
  before(() => {
    const make = (allowCommands: boolean) => {
      const p = createLocalPlugin({
        cloud,
        controller: inProcessController(createFakeController()),
        stateDir: `/tmp/skyway-${id}`,
        runner,
        internet: `sky.${id}.inet`,
        allowCommands,
      });
      plugins.push(p);
      return inProcess(p);
    };
    allowed = make(true);
    strict = make(false);
  });
  after(async () => {
    await plugins[0]?.destroyLab().catch(() => {});
    await teardown(runner, { prefix: `sky.${id}`, dirs: [`/tmp/skyway-${id}`] });
  });

  test('the command runs as nobody, in the VM namespace, and may listen on port 80 there', async () => {
    const command = `id -u; id -g; id -G; readlink /proc/self/ns/net; exec ${process.execPath} -e 'require("http").createServer((q,s)=>s.end("uid-"+process.getuid())).listen(80)'`;
    const vm = await allowed.createResource({
      deployment,
      name: 'vm-a',
      description: description({ command }),
    });
    const log = `${RUN_DIR}/${vmNs('vm-a')}/command.log`;
    const lines = await eventually<string[]>(
      'the command log',
      async () => {
        const l = readFileSync(log, 'utf8').trim().split('\n');
        return l.length >= 4 ? l : undefined;
      },
      10_000,
    );
    assert.deepEqual(lines.slice(0, 3), ['65534', '65534', '65534'], 'uid, gid and groups of nobody');
    const vmNetns = statSync(`/run/netns/${vmNs('vm-a')}`).ino;
    assert.equal(lines[3], `net:[${vmNetns}]`, "inside the VM's network namespace");
    // Seen from the host: the process the plugin recorded runs as 65534.
    const state = JSON.parse(readFileSync(`/tmp/skyway-${id}/state.json`, 'utf8'));
    const pid = Object.values(state.vms as Record<string, { pid?: number }>)[0]!.pid!;
    const uid = /^Uid:\s+(\d+)\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    assert.deepEqual([uid?.[1], uid?.[2]], ['65534', '65534']);
    const body = await eventually('the server', () => httpGet(vmNs('vm-a'), `http://${vm.ip}:80/`), 10_000);
    assert.equal(body, 'uid-65534');
  });

  test('with commands not allowed, a create with a command is refused and makes nothing', async () => {
    const e = await strict
      .createResource({ deployment, name: 'vm-b', description: description({ command: 'id' }) })
      .then(
        () => undefined,
        (x) => ConnectError.from(x),
      );
    assert.equal(e?.code, Code.PermissionDenied);
    assert.equal(e?.metadata.get('skyway-error-field'), 'description.command');
    assert.equal(statSync(`/run/netns/${vmNs('vm-b')}`, { throwIfNoEntry: false }), undefined);
  });
});
