// A controller on a temporary home with two in-process fake clouds, for tests
// of the layers above the plugins. Removed by close().
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakePlugin, type FakePlugin } from '@skyway/plugin-sdk/testing';
import { parseConfig } from '../config.js';
import { type RunningController, startController } from '../controller.js';

export interface Harness extends RunningController {
  home: string;
  /** The fake plugins by "<namespace>/<cloud>", to change a cloud behind the controller's back. */
  fakes: Map<string, FakePlugin>;
  /** inject() with the admin token (or `token`). */
  call(method: string, url: string, body?: unknown, token?: string): Promise<{ status: number; json: any }>;
}

export async function startHarness(
  opts: { home?: string; clouds?: string[]; database?: string; plugins?: string[] } = {},
): Promise<Harness> {
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'skyway-test-'));
  const clouds = Object.fromEntries((opts.clouds ?? ['east', 'west']).map((c) => [c, { plugin: 'fake' }]));
  const config = parseConfig(
    {
      listen: '127.0.0.1:0',
      namespaces: { default: { clouds }, other: { clouds: { east: { plugin: 'fake' } } } },
      ...(opts.database ? { database: opts.database } : {}),
      ...(opts.plugins ? { plugins: opts.plugins } : {}),
      poll_interval: 0,
    },
    'test',
    home,
  );
  const fakes = new Map<string, FakePlugin>();
  const running = await startController({
    config,
    listen: false,
    inProcessPlugins: {
      fake: ({ cloud, namespace, controller }) => {
        const fake = createFakePlugin({ cloud, controller });
        fakes.set(`${namespace}/${cloud}`, fake);
        return fake;
      },
    },
  });
  return {
    ...running,
    home,
    fakes,
    call: async (method, url, body, token) => {
      const res = await running.app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${token ?? running.adminToken}` },
        ...(body === undefined ? {} : { payload: body as object }),
      });
      return { status: res.statusCode, json: res.body ? JSON.parse(res.body) : undefined };
    },
    close: async () => {
      await running.close();
      if (!opts.home) rmSync(home, { recursive: true, force: true });
    },
  };
}
