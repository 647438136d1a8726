import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

it('the conformance suite fails exactly the cases a broken plugin breaks', { timeout: 60_000 }, async () => {
  const fixture = fileURLToPath(new URL('./testing/broken-plugin.fixture.ts', import.meta.url));
  const out = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=tap', fixture],
    {
      env: { PATH: process.env.PATH ?? '' },
    },
  ).then(
    (r) => r.stdout,
    (e: { stdout: string }) => e.stdout,
  );
  const failed = [...out.matchAll(/^\s*not ok \d+ - (.+)$/gm)].map((m) => m[1]!.trim());
  const leaves = failed.filter(
    (f) => !/^(broken conformance|CreateResource|permit lists|CheckCredentials and Describe)$/.test(f),
  );
  assert.deepEqual(leaves.sort(), [
    'Describe names the plugin and its version, with a clock within 5 minutes',
    'refuses networking details with InvalidArgument naming the key',
    'replaces a rule added again under the same name',
  ]);
  assert.match(out, /# pass 1\d/);
});
