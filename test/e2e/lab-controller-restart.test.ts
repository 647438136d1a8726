// The controller dies and comes back: two lab clouds driven through the REST
// API of a controller running as its own process. A tag's members decide what
// passes; then the process is killed with SIGKILL, the network keeps working
// without it, and a new controller on the same home (same SQLite file, new
// plugin instances) finds everything as it was — flows, rules, connections,
// the plugins' permit lists — and new changes work again. Last, an in-process
// controller takes over the same home the same way.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig, type RunningController, startController } from '@skyway/controller';
import { isAlive, sleep, teardown } from '@skyway/dataplane';
import { createLocalPlugin, LabNames, type LocalPlugin } from '@skyway/plugin-local';
import { createFakeController, inProcess, inProcessController, type PluginClient } from '@skyway/plugin-sdk';
import { Direction } from '@skyway/proto/plugin';
import {
  eventually,
  freePort,
  httpCommand,
  httpGet,
  labPlugins,
  restClient,
  runner,
  skipReason,
  testId,
} from './lab-helpers.js';

const skip = skipReason();
const id = testId();
const one = `${id}-one`;
const two = `${id}-two`;
const internet = `sky.${id}.inet`;
const stateDir = (cloud: string) => `/tmp/skyway-${cloud}`;
const vmNs = (cloud: string, name: string) => new LabNames(cloud).vm('default', 'r1', name);
const hubNs = (cloud: string) => new LabNames(cloud).hub('default');
const repo = fileURLToPath(new URL('../..', import.meta.url));

// The controller process: `skyway serve` with the lab plugin taking its state
// directory and internet namespace from the cloud config (the CLI's own
// factory always uses the shared `sky.inet`, which other lab runs may hold).
const CONTROLLER_MAIN = `
import { loadConfig, startController } from '@skyway/controller';
import { createLocalPlugin } from '@skyway/plugin-local';
const config = loadConfig(process.argv[1], process.env.SKYWAY_HOME);
const local = ({ cloud, controller, config: c }) =>
  createLocalPlugin({
    cloud,
    controller,
    stateDir: String(c.stateDir),
    internet: String(c.internet),
    allowCommands: true,
  });
const ctl = await startController({ config, inProcessPlugins: { local } });
console.log('skyway controller ready', ctl.url, 'pid', process.pid);
`;

interface Vm {
  cloud: string;
  name: string;
  uri: string;
  ip: string;
  tag: string;
}

describe('the controller is killed and restarted on the same home', { skip, timeout: 150_000 }, () => {
  let home = '';
  let configFile = '';
  let port = 0;
  let child: ChildProcess | undefined;
  let inproc: RunningController | undefined;
  let token = '';
  const call = (method: string, path: string, body?: unknown) =>
    restClient(`http://127.0.0.1:${port}`, () => token)(method, path, body);
  const ok = async (method: string, path: string, body?: unknown) => {
    const r = await call(method, path, body);
    assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  };
  // Plugin instances of the test's own, reading the same state and kernel (GetPermitList, routes, teardown).
  const observers: Record<string, LocalPlugin> = {};
  const clients: Record<string, PluginClient> = {};
  const vms: Record<'a' | 'b' | 'c', Vm> = {} as never;

  const startChild = async () => {
    const log = join(home, 'controller.log');
    const fd = openSync(log, 'a');
    const env: NodeJS.ProcessEnv = { ...process.env, SKYWAY_HOME: home };
    delete env.SKYWAY_DATABASE_URL;
    child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', CONTROLLER_MAIN, configFile],
      { cwd: repo, env, stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    const proc = child;
    await eventually(
      'the controller process answers',
      async () => {
        if (proc.exitCode !== null || proc.signalCode !== null)
          throw new Error(`controller exited: ${readFileSync(log, 'utf8').slice(-2000)}`);
        return (await call('GET', '/ping').catch(() => ({ status: 0 }))).status === 200;
      },
      30_000,
    );
    token = readFileSync(join(home, 'admin.token'), 'utf8').trim();
  };
  const killChild = async () => {
    const proc = child;
    child = undefined;
    if (!proc?.pid || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise((r) => proc.once('exit', r));
    process.kill(proc.pid, 'SIGKILL');
    await gone;
  };

  const url = () => `http://${vms.a.ip}:8080/`;
  /** Who reaches a's HTTP server right now (all probes at once). */
  const flows = async () => {
    const [b, c] = await Promise.all([httpGet(vmNs(one, 'b'), url(), 2), httpGet(vmNs(two, 'c'), url(), 2)]);
    return { b: b === 'hello-a', c: c === 'hello-a' };
  };
  const expectFlows = async (want: { b: boolean; c: boolean }, what: string) => {
    // wait for the allowed ones, then check that everything is exactly as wanted
    await eventually(
      `${what}: ${JSON.stringify(want)}`,
      async () => {
        const f = await flows();
        return (!want.b || f.b) && (!want.c || f.c);
      },
      20_000,
    );
    assert.deepEqual(await flows(), want, what);
  };

  const rulesPath = (vm: Vm) => `/api/v1/namespaces/default/clouds/${vm.cloud}/resources/${vm.name}/rules`;
  const byName = <T extends { name: string }>(xs: T[]) =>
    [...xs].sort((x, y) => x.name.localeCompare(y.name));
  const plainTargets = (ts: string[]) => ts.map((t) => t.replace(/\/32$/, '')).sort();
  /** What the controller says: GET rules of every VM, the connections, the web tag. */
  const controllerView = async () => ({
    rules: Object.fromEntries(
      await Promise.all(
        Object.values(vms).map(
          async (vm) => [vm.name, byName((await ok('GET', rulesPath(vm))).rules)] as const,
        ),
      ),
    ),
    connections: (await ok('GET', '/api/v1/connections')).connections,
    web: await ok('GET', '/api/v1/tags/web'),
  });
  /** What the plugins say (GetPermitList), in the REST view's shape. */
  const permitLists = async () =>
    Object.fromEntries(
      await Promise.all(
        Object.values(vms).map(async (vm) => {
          const { rules } = await clients[vm.cloud]!.getPermitList({
            namespace: 'default',
            resource: vm.uri,
          });
          return [
            vm.name,
            byName(
              rules.map((r) => ({
                name: r.name,
                direction: Direction[r.direction],
                dst_port: r.dstPort,
                protocol: r.protocol,
                targets: plainTargets(r.targets),
                tags: [...r.tags].sort(),
              })),
            ),
          ] as const;
        }),
      ),
    );
  const asPermitLists = (rules: Record<string, Array<Record<string, unknown>>>) =>
    Object.fromEntries(
      Object.entries(rules).map(([vm, rs]) => [
        vm,
        rs.map((r) => ({
          name: r.name,
          direction: r.direction,
          dst_port: r.dst_port,
          protocol: r.protocol,
          targets: plainTargets(r.targets as string[]),
          tags: [...(r.tags as string[])].sort(),
        })),
      ]),
    );

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'skyway-labrestart-'));
    port = await freePort();
    configFile = join(home, 'skyway.yaml');
    const cloud = (c: string) =>
      `      ${c}: { plugin: local, config: { stateDir: "${stateDir(c)}", internet: "${internet}" } }\n`;
    writeFileSync(
      configFile,
      `listen: 127.0.0.1:${port}\nnamespaces:\n  default:\n    clouds:\n${cloud(one)}${cloud(two)}`,
    );
    for (const c of [one, two]) {
      observers[c] = createLocalPlugin({
        cloud: c,
        controller: inProcessController(createFakeController()),
        stateDir: stateDir(c),
        runner,
        internet,
      });
      clients[c] = inProcess(observers[c]);
    }
    await startChild();
  });
  after(async () => {
    await killChild().catch(() => {});
    await inproc?.close().catch(() => {});
    for (const p of Object.values(observers)) await p.destroyLab().catch(() => {});
    await teardown(runner, { prefix: `sky.${id}`, dirs: [stateDir(one), stateDir(two)] });
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test("a tag's members decide who reaches the server", async () => {
    const create = async (cloud: string, name: string, command?: string) => {
      const r = await call('POST', `/api/v1/namespaces/default/clouds/${cloud}/resources`, {
        name,
        description: JSON.stringify({ region: 'r1', ...(command ? { command } : {}) }),
      });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      return { cloud, name, uri: r.json.uri, ip: r.json.ip, tag: r.json.tag } as Vm;
    };
    vms.a = await create(one, 'a', httpCommand(8080, 'hello-a'));
    vms.b = await create(one, 'b');
    vms.c = await create(two, 'c');
    assert.equal(vms.b.tag, `default.${one}.b`);
    await ok('PUT', '/api/v1/tags/web', { child_tags: [vms.b.tag] });
    await ok('POST', rulesPath(vms.a), {
      name: 'from-web',
      direction: 'INBOUND',
      protocol: 6,
      src_port: -1,
      dst_port: 8080,
      tags: ['web'],
    });
    // b and c may both send to a; only a's inbound rule decides
    const toA = [
      { name: 'to-a', direction: 'OUTBOUND', protocol: 6, src_port: -1, dst_port: 8080, tags: [vms.a.tag] },
    ];
    await ok('POST', `${rulesPath(vms.b).replace(/\/rules$/, '')}/applyRules`, toA);
    await ok('POST', `${rulesPath(vms.c).replace(/\/rules$/, '')}/applyRules`, toA); // brings up the VPN
    const [conn] = (await ok('GET', '/api/v1/connections')).connections;
    assert.equal(conn?.status, 'up', JSON.stringify(conn));
    // c has a route to a (BGP over the VPN), so what stops it is the permit list
    const prefix = (ip: string) => ip.replace(/\.\d+\.\d+$/, '.0.0/16');
    await eventually(
      'BGP routes both ways',
      async () =>
        (await observers[two]!.network.bird.routes(hubNs(two))).some((r) => r.prefix === prefix(vms.a.ip)) &&
        (await observers[one]!.network.bird.routes(hubNs(one))).some((r) => r.prefix === prefix(vms.c.ip)),
      30_000,
    );
    await expectFlows({ b: true, c: false }, 'web = {b}');

    await ok('PUT', '/api/v1/tags/web', { child_tags: [vms.c.tag] });
    await expectFlows({ b: false, c: true }, 'web = {c}');
    const [fromWeb] = (await ok('GET', rulesPath(vms.a))).rules;
    assert.deepEqual(plainTargets(fromWeb.targets), [vms.c.ip]);
  });

  test('SIGKILL: the network outlives the process; a new one on the same home finds it as it was', async () => {
    const before = await controllerView();
    const plBefore = await permitLists();
    assert.deepEqual(plBefore, asPermitLists(before.rules), 'the permit lists match the rules');
    const tokenBefore = token;
    const pid = child!.pid!;

    await killChild();
    assert.equal(isAlive(pid), false);
    // no controller: the dataplane keeps doing what it was told
    assert.notEqual((await call('GET', '/ping').catch(() => ({ status: 0 }))).status, 200);
    await expectFlows({ b: false, c: true }, 'while the controller is dead');

    await startChild();
    assert.notEqual(child!.pid, pid);
    assert.equal(token, tokenBefore, 'the admin token stays valid');
    assert.deepEqual(await controllerView(), before, 'rules, connections and tags are unchanged');
    assert.deepEqual(await permitLists(), plBefore, 'GetPermitList unchanged');
    await expectFlows({ b: false, c: true }, 'after the restart');

    // a new rule after the restart works
    await ok('POST', rulesPath(vms.a), {
      name: 'from-b',
      direction: 'INBOUND',
      protocol: 6,
      src_port: -1,
      dst_port: 8080,
      tags: [vms.b.tag],
    });
    await expectFlows({ b: true, c: true }, 'new rule from-b');
    assert.deepEqual(await permitLists(), asPermitLists((await controllerView()).rules));
  });

  test('an in-process controller with new plugin instances takes over the same home', async () => {
    const before = await controllerView();
    const plBefore = await permitLists();
    await killChild();
    await sleep(100);
    const plugins: LocalPlugin[] = [];
    inproc = await startController({
      config: loadConfig(configFile, home),
      inProcessPlugins: { local: labPlugins(plugins) },
    });
    assert.equal(plugins.length, 2);
    assert.equal(inproc.url, `http://127.0.0.1:${port}`);
    assert.deepEqual(await controllerView(), before);
    assert.deepEqual(await permitLists(), plBefore);
    // the controller's own plugin instances read the same permit lists
    const viaCtl = await inProcess(plugins.find((p) => p.cloud === one)!).getPermitList({
      namespace: 'default',
      resource: vms.a.uri,
    });
    assert.deepEqual(viaCtl.rules.map((r) => r.name).sort(), ['from-b', 'from-web']);
    await expectFlows({ b: true, c: true }, 'after the takeover');

    await ok('DELETE', `${rulesPath(vms.a)}/from-b`);
    await expectFlows({ b: false, c: true }, 'from-b deleted');
    await ok('POST', '/api/v1/tags/web/applyMembers', { child_tags: [vms.b.tag] });
    await expectFlows({ b: true, c: true }, 'web = {c, b}');
    await ok('DELETE', `/api/v1/tags/web/members/${vms.c.tag}`);
    await expectFlows({ b: true, c: false }, 'c removed from web');
    assert.deepEqual(await permitLists(), asPermitLists((await controllerView()).rules));
  });

  test('a rule whose tag has no members any more lets nobody in', async () => {
    await ok('DELETE', `/api/v1/tags/web/members/${vms.b.tag}`);
    await expectFlows({ b: false, c: false }, 'web = {}');
  });
});
