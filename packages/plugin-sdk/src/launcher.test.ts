import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { Code, ConnectError } from '@connectrpc/connect';
import { SkywayError } from '@skyway/core';
import { launchPlugin } from './launcher.js';
import { bearerAuthorizer, parseListen } from './plugin-main.js';
import { createFakeController, type FakeController } from './testing/fake-controller.js';
import { FAKE_PLUGIN_MAIN, fakePluginDescriptor } from './testing/fake-descriptor.js';
import { connect, controllerRoutes, type Served, serve } from './transport.js';

const KEY = 'sky-test-key-0123456789';
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const deployment = { id: 'lab', namespace: 'default' };

describe('launchPlugin with a real child process', () => {
  let controller: FakeController;
  let served: Served;
  before(async () => {
    controller = createFakeController();
    served = await serve({ routes: controllerRoutes(controller), authorize: bearerAuthorizer(KEY) });
  });
  after(() => served.close());

  it('starts the plugin, which calls back with its key, and stop() ends the process', async () => {
    const p = await launchPlugin({
      descriptor: fakePluginDescriptor(),
      controllerUrl: served.url,
      apiKey: KEY,
      env: { SKYWAY_FAKE_CLOUD: 'cloud-a', SKYWAY_FAKE_VERSION: '0.2.0' },
    });
    try {
      assert.match(p.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(p.describe.name, 'fake');
      assert.equal(p.describe.version, '0.2.0');
      assert.ok(alive(p.pid));
      const r = await p.client.createResource({
        deployment,
        name: 'vm-a',
        description: new TextEncoder().encode('{}'),
      });
      assert.deepEqual(
        controller.addressSpaces,
        ['10.0.0.0/16'],
        'the space came from the controller callback',
      );
      assert.equal(r.ip, '10.0.0.4');
      // Callers without the key are turned away.
      const anon = connect({ url: p.url });
      const e = await anon.client.describe({}).catch((x) => x);
      anon.close();
      assert.equal(ConnectError.from(e).code, Code.Unauthenticated);
    } finally {
      await p.stop();
    }
    assert.equal(alive(p.pid), false);
    await p.stop(); // twice is fine
  });

  it('runs two versions side by side', async () => {
    const [a, b] = await Promise.all(
      ['1.0.0', '2.0.0'].map((v) =>
        launchPlugin({
          descriptor: fakePluginDescriptor({ version: v }),
          controllerUrl: served.url,
          apiKey: KEY,
          env: { SKYWAY_FAKE_CLOUD: 'cloud-b', SKYWAY_FAKE_VERSION: v },
        }),
      ),
    );
    try {
      assert.notEqual(a!.pid, b!.pid);
      assert.deepEqual([a!.describe.version, b!.describe.version], ['1.0.0', '2.0.0']);
    } finally {
      await Promise.all([a!.stop(), b!.stop()]);
    }
  });

  it('hands the plugin a new key over stdin: it calls back with it and takes it from its callers', async () => {
    const keys = new Set([KEY]);
    const ctl = createFakeController();
    const rotating = await serve({
      routes: controllerRoutes(ctl),
      authorize: bearerAuthorizer(() => [...keys]),
    });
    const p = await launchPlugin({
      descriptor: fakePluginDescriptor(),
      controllerUrl: rotating.url,
      apiKey: KEY,
      env: { SKYWAY_FAKE_CLOUD: 'cloud-r' },
    });
    try {
      const next = 'sky-test-key-second-9876543210';
      keys.add(next);
      await p.rotateKey(next);
      keys.delete(KEY); // what the controller does: revoke the old key once the plugin took the new one
      const r = await p.client.createResource({
        deployment,
        name: 'vm-r',
        description: new TextEncoder().encode('{}'),
      });
      assert.equal(r.ip, '10.0.0.4', 'the callback went through with the new key');
      const withNew = connect({ url: p.url, token: next });
      assert.equal((await withNew.client.describe({})).name, 'fake');
      withNew.close();
      await assert.rejects(p.rotateKey(''), /API key is required/);
    } finally {
      await p.stop();
      await rotating.close();
    }
    await assert.rejects(p.rotateKey('sky-late-key'), /has stopped/);
  });

  it('a plugin whose control pipe closes (its controller died) exits on its own', async () => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), FAKE_PLUGIN_MAIN], {
      env: { ...process.env, SKYWAY_PLUGIN_CLOUD: 'cloud-w', SKYWAY_PLUGIN_CONTROL: 'stdin' },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    assert.ok(alive(child.pid!));
    child.stdin!.end(); // as if the controller were SIGKILLed: the pipe's write end goes away
    assert.equal(await exited, 0);
  });

  it('refuses a plugin whose clock is more than 5 minutes off, and stops it', async () => {
    let pid = 0;
    await assert.rejects(
      launchPlugin({
        descriptor: fakePluginDescriptor(),
        controllerUrl: served.url,
        apiKey: KEY,
        env: { SKYWAY_FAKE_CLOUD: 'c', SKYWAY_FAKE_CLOCK_OFFSET_MS: String(7 * 60_000) },
        onStderr: () => {},
      }).then((p) => {
        pid = p.pid;
      }),
      (e: unknown) => {
        assert.ok(e instanceof SkywayError);
        assert.equal(e.code, 'CLOCK_SKEW');
        assert.equal(e.kind, 'FailedPrecondition');
        assert.match(e.message, /clock is 7m 0s ahead of/);
        return true;
      },
    );
    assert.equal(pid, 0);
  });

  it('times out with the tail of stderr (and no key in it)', async () => {
    const started = Date.now();
    await assert.rejects(
      launchPlugin({
        descriptor: fakePluginDescriptor({
          command: [
            'node',
            '-e',
            `console.error('stuck loading ' + process.env.SKYWAY_PLUGIN_API_KEY); setInterval(() => {}, 1000)`,
          ],
        }),
        controllerUrl: served.url,
        apiKey: KEY,
        readyTimeoutMs: 1500,
      }),
      (e: Error) => {
        assert.match(
          e.message,
          /did not print SKYWAY_PLUGIN_READY within 1500 ms; stderr: stuck loading \*\*\*/,
        );
        assert.ok(!e.message.includes(KEY));
        return true;
      },
    );
    assert.ok(Date.now() - started < 10_000);
  });

  it('reports a plugin that exits before it is ready, and one that cannot start', async () => {
    await assert.rejects(
      launchPlugin({
        descriptor: fakePluginDescriptor({
          command: ['node', '-e', `console.error('bad config'); process.exit(3)`],
        }),
        controllerUrl: served.url,
        apiKey: KEY,
      }),
      /exited \(code 3\) before it was ready; stderr: bad config/,
    );
    await assert.rejects(
      launchPlugin({ descriptor: fakePluginDescriptor(), controllerUrl: served.url, apiKey: KEY }),
      /SKYWAY_FAKE_CLOUD\)? is required/,
    );
    await assert.rejects(
      launchPlugin({
        descriptor: fakePluginDescriptor({ command: ['/nonexistent/skyway-plugin'] }),
        controllerUrl: served.url,
        apiKey: KEY,
      }),
      /could not be started .*ENOENT/,
    );
    await assert.rejects(
      launchPlugin({
        descriptor: fakePluginDescriptor({ runtime: 'remote', command: undefined, url: 'http://x' }),
        controllerUrl: served.url,
        apiKey: KEY,
      }),
      /only process plugins are launched/,
    );
  });
});

it('parses listen addresses', () => {
  assert.deepEqual(parseListen('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseListen('[::1]:5000'), { host: '::1', port: 5000 });
  assert.deepEqual(parseListen(':7000'), { host: '127.0.0.1', port: 7000 });
  assert.throws(() => parseListen('localhost'), /must be host:port/);
  assert.throws(() => parseListen('h:70000'), /must be host:port/);
});

it('runPlugin hands the factory the cloud, namespace and config, and serves until closed', async () => {
  const { runPlugin } = await import('./plugin-main.js');
  const { createFakePlugin } = await import('./testing/fake-plugin.js');
  let seen: { cloud?: string; namespace?: string; config: Record<string, unknown> } | undefined;
  const lines: string[] = [];
  const running = await runPlugin(
    (ctx) => {
      seen = { cloud: ctx.cloud, namespace: ctx.namespace, config: ctx.config };
      return createFakePlugin({ cloud: ctx.cloud! });
    },
    {
      env: {
        SKYWAY_PLUGIN_CLOUD: 'c1',
        SKYWAY_PLUGIN_NAMESPACE: 'ns',
        SKYWAY_PLUGIN_CONFIG: '{"region":"r1"}',
      },
      write: (l) => lines.push(l),
      handleSignals: false,
    },
  );
  try {
    assert.deepEqual(seen, { cloud: 'c1', namespace: 'ns', config: { region: 'r1' } });
    assert.deepEqual(lines, [`SKYWAY_PLUGIN_READY ${running.url}\n`]);
    const conn = connect({ url: running.url });
    assert.equal((await conn.client.describe({})).name, 'fake');
    conn.close();
  } finally {
    await running.close();
  }
  await assert.rejects(
    runPlugin(() => createFakePlugin({ cloud: 'x' }), {
      env: { SKYWAY_PLUGIN_CONFIG: '[1]' },
      write: () => {},
      handleSignals: false,
    }),
    /SKYWAY_PLUGIN_CONFIG must be a JSON object/,
  );
  await assert.rejects(
    runPlugin(() => createFakePlugin({ cloud: 'x' }), {
      env: { SKYWAY_CONTROLLER_URL: 'http://127.0.0.1:1' },
      write: () => {},
      handleSignals: false,
    }),
    /SKYWAY_PLUGIN_API_KEY is required/,
  );
});
