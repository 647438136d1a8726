// The fixtures checked with Go itself, when `go` is installed (CI does not
// install it; glide-replay.test.ts always runs): testing/go-client sends each
// fixture's value the way pkg/client does, with net/http and encoding/json,
// and (1) what it writes must be the fixture byte for byte, (2) replayed in
// order against the compatibility listener, every answer is 200 (the last
// one 404) and decodes with encoding/json into glide's struct types.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startGlideWorld, world } from './testing/glide-world.js';

const exec = promisify(execFile);
const FIXTURES = fileURLToPath(new URL('./fixtures/glide/', import.meta.url));
const GO_CLIENT = fileURLToPath(new URL('./testing/go-client/', import.meta.url));
const go = ['/usr/bin/go', '/usr/local/go/bin/go'].find((p) => existsSync(p));
const env = {
  ...process.env,
  GOCACHE: '/tmp/skyway-gocache',
  GOPATH: '/tmp/skyway-gopath',
  GOFLAGS: '-mod=mod',
  GOTOOLCHAIN: 'local',
  GOPROXY: 'off',
};
const bin = `/tmp/skyway-go-client-${process.pid}`;

describe('glide fixtures against Go (net/http, encoding/json)', {
  skip: go ? undefined : 'needs go',
  timeout: 180_000,
}, () => {
  after(() => rmSync(bin, { force: true }));

  it('Go writes every fixture byte for byte', async () => {
    await exec(go!, ['build', '-o', bin, '.'], { cwd: GO_CLIENT, env });
    const { stdout } = await exec(bin, ['capture', FIXTURES]);
    const got = JSON.parse(stdout) as Record<string, string>;
    assert.ok(Object.keys(got).length >= 30);
    for (const [file, bytes] of Object.entries(got))
      assert.equal(readFileSync(join(FIXTURES, file), 'utf8'), bytes, file);
  });

  it("Go's client gets 200 for every command and decodes every answer into glide's structs", async () => {
    const w = await startGlideWorld();
    try {
      const { stdout } = await exec(bin, ['replay', FIXTURES, `127.0.0.1:${w.port}`]);
      const results = JSON.parse(stdout) as Array<{
        fixture: string;
        status: number;
        // biome-ignore lint/suspicious/noExplicitAny: Go's decoded values, read field by field
        decoded?: any;
        error?: string;
      }>;
      for (const r of results) {
        const expected = r.fixture.endsWith('tag-get-deleted.http') ? 404 : 200;
        assert.equal(r.status, expected, r.fixture);
        assert.equal(r.error, undefined, `${r.fixture}: ${r.error}`);
      }
      const by = (suffix: string) => results.find((r) => r.fixture.endsWith(suffix))!.decoded;
      assert.deepEqual(by('01-namespace-list.http'), {
        default: [
          { Name: world.east, Deployment: world.east },
          { Name: world.west, Deployment: world.west },
        ],
      });
      assert.equal(by('05-resource-attach-db-1.http').name, 'default.lab-east.db-1');
      // Go prints what it decoded with the same tags (zero fields left out again).
      const [inbound, outbound] = by('10-rule-get-db-1.http');
      assert.equal(inbound.direction, undefined, 'INBOUND');
      assert.equal(inbound.dst_port, 22);
      assert.equal(outbound.direction, 1);
      assert.deepEqual(by('19-tag-resolve-ext.http'), [
        { name: 'ext-dns', ip: '192.0.2.53' },
        { name: 'ext-svc', uri: 'https://svc.example.com/a?b=1&c=2' },
      ]);
    } finally {
      await w.close();
    }
  });
});
