// npm run bench:cli — how long the `skyway` command takes to start, as a user
// runs it (packages/cli/bin/skyway): `skyway --help`, and `skyway rule get`
// (one REST round trip to a controller on loopback), for the compiled build
// (dist/main.mjs, what `npm run build` makes) and from source through tsx
// (SKYWAY_FROM_SOURCE=1, as every call was before). Goals: help < 300 ms,
// rule get < 500 ms. SKYWAY_BENCH_RUNS (default 10) runs each; the median and
// the slowest are printed.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseConfig, startController } from '@skyway/controller';
import { createFakePlugin } from '@skyway/plugin-sdk/testing';
import { median } from './median.js';

// Async: the controller answering `rule get` runs on this process's event loop.
const run = promisify(execFile);
const bin = join(import.meta.dirname, '../packages/cli/bin/skyway');
const runs = Number(process.env.SKYWAY_BENCH_RUNS ?? 10);
if (!existsSync(join(import.meta.dirname, '../packages/cli/dist/main.mjs')))
  console.log('(no build: run `npm run build` first; the "compiled" rows then run from source too)');

const home = mkdtempSync(join(tmpdir(), 'skyway-bench-cli-'));
const ctl = await startController({
  config: parseConfig(
    {
      listen: '127.0.0.1:0',
      namespaces: { default: { clouds: { east: { plugin: 'fake' } } } },
      poll_interval: 0,
    },
    'bench',
    home,
  ),
  inProcessPlugins: { fake: ({ cloud, controller }) => createFakePlugin({ cloud, controller }) },
});
try {
  const api = (method: string, path: string, body: unknown) =>
    fetch(`${ctl.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ctl.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  await api('POST', '/api/v1/namespaces/default/clouds/east/resources', { name: 'web-1', description: '{}' });
  await api('POST', '/api/v1/namespaces/default/clouds/east/resources/web-1/rules', {
    name: 'http-in',
    direction: 'INBOUND',
    protocol: 6,
    dst_port: 80,
    tags: ['10.2.0.0/16'],
  });

  const time = async (args: string[], fromSource: boolean) => {
    const env = { ...process.env, SKYWAY_HOME: home, ...(fromSource ? { SKYWAY_FROM_SOURCE: '1' } : {}) };
    const ms: number[] = [];
    await run(bin, args, { env }); // warm the page cache (and tsx's cache)
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await run(bin, args, { env });
      ms.push(performance.now() - t0);
    }
    return { median: median(ms), max: Math.max(...ms) };
  };

  console.log(`skyway start-up on this machine (${runs} runs each, ms)\n`);
  console.log(
    'command                                   compiled (median / max)   from source, tsx (median / max)',
  );
  for (const [label, args, goal] of [
    ['skyway --help', ['--help'], 300],
    ['skyway rule get web-1 --cloud east', ['rule', 'get', 'web-1', '--cloud', 'east'], 500],
  ] as const) {
    const compiled = await time([...args], false);
    const source = await time([...args], true);
    const f = (r: { median: number; max: number }) => `${r.median.toFixed(0)} / ${r.max.toFixed(0)}`;
    console.log(
      `${label.padEnd(42)}${f(compiled).padEnd(26)}${f(source).padEnd(20)}goal < ${goal}: ${compiled.median < goal ? 'met' : 'NOT met'}`,
    );
  }
} finally {
  await ctl.close();
  rmSync(home, { recursive: true, force: true });
}
