// npm run bench:control — control-plane figures on this machine:
//  - rule adds per second through REST (in-process fake plugin, and the fake over gRPC)
//  - time to re-apply rules for 1,000 subscribers after one tag change
//  - cost per rule add at 1,000 and at 10,000 resources
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { parseConfig, type RunningController, startController } from '@skyway/controller';
import { createFakePlugin, FAKE_PLUGIN_MAIN } from '@skyway/plugin-sdk/testing';

const homes: string[] = [];

async function controller(runtime: 'in-process' | 'process'): Promise<RunningController> {
  const home = mkdtempSync(join(tmpdir(), 'skyway-bench-'));
  homes.push(home);
  writeFileSync(
    join(home, 'fake.yaml'),
    `name: fake\nversion: 0.1.0\nsummary: fake\nbackend: { package: "@skyway/plugin-sdk", component: createFakePlugin }\nruntime: ${runtime}\n` +
      (runtime === 'process'
        ? `command: ["${process.execPath}", "--import", "${import.meta.resolve('tsx')}", "${FAKE_PLUGIN_MAIN}"]\n`
        : ''),
  );
  const config = parseConfig(
    {
      listen: '127.0.0.1:0',
      plugins: ['fake.yaml'],
      namespaces: { default: { clouds: { east: { plugin: 'fake' } } } },
    },
    join(home, 'skyway.yaml'),
    home,
  );
  return startController({
    config,
    inProcessPlugins: { fake: ({ cloud, controller }) => createFakePlugin({ cloud, controller }) },
  });
}

function client(c: RunningController) {
  return async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${c.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${c.adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  };
}

const resourcePath = (name: string) => `/namespaces/default/clouds/east/resources/${name}`;

async function createResources(c: RunningController, from: number, to: number) {
  const call = client(c);
  await pool(to - from, 16, (i) =>
    call('POST', '/namespaces/default/clouds/east/resources', {
      name: `vm-${from + i}`,
      description: '{"region":"r1"}',
    }),
  );
}

async function pool(n: number, concurrency: number, fn: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) await fn(i);
    }),
  );
}

/**
 * Rule adds through REST, sent by a client on its own thread (as a real
 * client would be, so it does not share the controller's event loop).
 * Returns adds per second.
 */
async function ruleAdds(c: RunningController, resources: number, n: number, concurrency = 32) {
  const worker = new Worker(
    `const { parentPort, workerData: w } = require('node:worker_threads');
    (async () => {
      let next = 0;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: w.concurrency }, async () => {
        for (let i = next++; i < w.n; i = next++) {
          const res = await fetch(w.url + '/namespaces/default/clouds/east/resources/vm-' + (i % w.resources) + '/rules', {
            method: 'POST',
            headers: { authorization: 'Bearer ' + w.token, 'content-type': 'application/json' },
            body: JSON.stringify({ name: 'r-' + (i % 20), direction: 'INBOUND', protocol: 6, dst_port: 1000 + (i % 1000), tags: ['10.200.' + (i % 200) + '.0/24'] }),
          });
          if (!res.ok) throw new Error(res.status + ' ' + (await res.text()));
          await res.arrayBuffer();
        }
      }));
      parentPort.postMessage(performance.now() - t0);
    })().catch((e) => { throw e; });`,
    { eval: true, workerData: { url: c.url, token: c.adminToken, n, resources, concurrency } },
  );
  const ms = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  return n / (ms / 1000);
}

/** Mean milliseconds per rule add, one at a time. */
async function perOp(c: RunningController, resources: number, n: number) {
  const call = client(c);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await call('POST', `${resourcePath(`vm-${(i * 7919) % resources}`)}/rules`, {
      name: 'op',
      direction: 'OUTBOUND',
      protocol: 17,
      dst_port: 53,
      tags: ['10.53.0.0/16'],
    });
  }
  return (performance.now() - t0) / n;
}

const rows: Array<[string, string, string]> = [];
const out = (what: string, value: string, target: string) => {
  rows.push([what, value, target]);
  console.error(`  ${what}: ${value}`);
};

try {
  console.error('in-process fake plugin: 100 resources, 5,000 rule adds');
  let c = await controller('in-process');
  await createResources(c, 0, 100);
  await ruleAdds(c, 100, 500);
  out('rule adds/s via REST, in-process plugin', (await ruleAdds(c, 100, 5000)).toFixed(0), '>= 2,000');

  console.error('fan-out: 1,000 subscribers of one tag');
  await createResources(c, 100, 1000);
  const call = client(c);
  await call('PUT', '/tags/web', { child_tags: ['default.east.vm-0'] });
  await pool(1000, 16, (i) =>
    call('POST', `${resourcePath(`vm-${i}`)}/rules`, {
      name: 'web',
      direction: 'INBOUND',
      protocol: 6,
      dst_port: 80,
      tags: ['web'],
    }),
  );
  const t0 = performance.now();
  await call('PUT', '/tags/web', { child_tags: ['default.east.vm-0', 'default.east.vm-1'] });
  const fanout = performance.now() - t0;
  const check = await call('GET', `${resourcePath('vm-999')}/rules`);
  if (check.rules.find((r: { name: string }) => r.name === 'web').targets.length !== 2)
    throw new Error('fan-out did not re-apply');
  out('re-apply 1,000 subscribers after one tag change', `${fanout.toFixed(0)} ms`, '< 1,000 ms');

  console.error('per-operation cost at 1,000 and 10,000 resources');
  const at1k = await perOp(c, 1000, 1000);
  out('ms per rule add at 1,000 resources', at1k.toFixed(3), '');
  await createResources(c, 1000, 10_000);
  const at10k = await perOp(c, 10_000, 1000);
  out('ms per rule add at 10,000 resources', at10k.toFixed(3), '');
  out('cost ratio 10,000 / 1,000', `${(at10k / at1k).toFixed(2)}x`, '<= 1.5x');
  await c.close();

  console.error('fake plugin over gRPC (own process): 100 resources, 3,000 rule adds');
  c = await controller('process');
  await createResources(c, 0, 100);
  await ruleAdds(c, 100, 300);
  out('rule adds/s via REST, gRPC plugin', (await ruleAdds(c, 100, 3000)).toFixed(0), '');
  await c.close();

  const w = [46, 14, 12];
  const line = (r: string[]) => r.map((v, i) => v.padEnd(w[i]!)).join('  ');
  console.log(line(['measure', 'value', 'target']));
  console.log(line(['-'.repeat(46), '-'.repeat(14), '-'.repeat(12)]));
  for (const r of rows) console.log(line(r));
} finally {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
}
