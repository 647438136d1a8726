import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CommandError, ExecRunner, FakeRunner, formatCommand } from './runner.js';

test('FakeRunner records calls and answers scripted output', async () => {
  const f = new FakeRunner()
    .on('ip -j netns list', { stdout: '[{"name":"sky.a"}]' })
    .on(/link del/, { code: 2, stderr: 'nope' });
  assert.equal((await f.run('ip', ['-j', 'netns', 'list'])).stdout, '[{"name":"sky.a"}]');
  await assert.rejects(
    f.run('ip', ['link', 'del', 'skyx'], { netns: 'sky.a' }),
    (e: CommandError) => e.code === 2 && /nope/.test(e.message),
  );
  assert.equal((await f.run('ip', ['link', 'del', 'skyx'], { allowFail: true })).code, 2);
  assert.equal(f.lines[1], 'ip netns exec sky.a ip link del skyx');
  assert.equal(await f.spawnDetached('sleep', ['1']), 4000);
  assert.ok(f.calls[3]!.detached);
});

test('ExecRunner returns output, feeds stdin, reports the command and stderr on failure', async () => {
  const r = new ExecRunner();
  assert.equal((await r.run('cat', [], { input: 'hi' })).stdout, 'hi');
  await assert.rejects(r.run('sh', ['-c', 'echo bad >&2; exit 3']), (e: CommandError) => {
    assert.equal(e.code, 3);
    assert.match(e.message, /sh -c "echo bad >&2; exit 3": bad/);
    return true;
  });
  assert.equal((await r.run('sh', ['-c', 'exit 4'], { allowFail: true })).code, 4);
  await assert.rejects(r.run('/nonexistent-sky', []), /ENOENT/);
});

test('formatCommand quotes only what needs it', () => {
  assert.equal(formatCommand('ip', ['addr', 'add', '10.0.0.1/24', 'a b']), 'ip addr add 10.0.0.1/24 "a b"');
});
