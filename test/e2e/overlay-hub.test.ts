// An overlay on real namespaces: one hub and two devices, each a network
// namespace whose agent (in this process) dials the controller and applies
// its site's document with strongSwan (charon + kernel-libipsec). After the
// SCC API calls, the devices' overlay IPs reach each other through the hub
// (real pings, ESP counters growing), the connection objects show what the
// agents report, a CA rotation (every certificate re-issued) loses at most one
// ping of a 100 ms stream, and deleting a connection removes its tunnel.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent } from '@skyway/agent';
import { Links, Netns, Strongswan, teardown } from '@skyway/dataplane';
import pino from 'pino';
import { OverlayApplier } from '../../packages/agent/src/overlay/applier.js';
import { overlayStreamHandler } from '../../packages/agent/src/overlay/handler.js';
import { parseConfig } from '../../packages/controller/src/config.js';
import { type RunningController, startController } from '../../packages/controller/src/controller.js';
import { eventually, hasPing, ping, runner, skipReason, testId } from './lab-helpers.js';

const skip = skipReason() ?? (hasPing() ? undefined : 'no ping');
const id = testId();
const prefix = `sky.${id}.`;
const ns = (n: string) => `${prefix}${n}`;
const netns = new Netns(runner);
const links = new Links(runner);
const sites = { hub1: '198.18.88.1', edge1: '198.18.88.2', edge2: '198.18.88.3' } as const;
const O = '/scc/v1/overlays/ol';

describe('overlay: a hub and two devices on real namespaces', { skip, timeout: 150_000 }, () => {
  const home = mkdtempSync(join(tmpdir(), 'skyway-overlay-e2e-'));
  let ctl: RunningController;
  const agents: Agent[] = [];
  const appliers: OverlayApplier[] = [];
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await ctl.app.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${ctl.adminToken}` },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: res.statusCode, json: res.body ? JSON.parse(res.body) : undefined };
  };
  const ok = async (method: string, url: string, body?: unknown) => {
    const r = await call(method, url, body);
    assert.ok(r.status < 300, `${method} ${url}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  };

  before(async () => {
    await netns.create(ns('inet'));
    await links.addBridge(ns('inet'), 'skyinet0');
    for (const [name, ip] of Object.entries(sites)) {
      await netns.create(ns(name));
      await links.addVeth(ns('inet'), `skyi-${name}`, ns(name), 'skyeth0');
      await links.setMaster(ns('inet'), `skyi-${name}`, 'skyinet0');
      await links.addAddress(ns(name), 'skyeth0', `${ip}/24`);
    }
    const config = parseConfig({ listen: '127.0.0.1:0', poll_interval: 0, namespaces: {} }, 'test', home);
    ctl = await startController({ config, listen: false });
    const logger = pino({ level: process.env.SKYWAY_TEST_LOG ?? 'silent' });
    for (const name of Object.keys(sites)) {
      const bundle = await ok('POST', `/api/v1/agents/${name}/enrollment-bundle`, {});
      const applier = new OverlayApplier({ netns: ns(name), home: join(home, `agent-${name}`), log: logger });
      appliers.push(applier);
      const agent = new Agent({
        home: join(home, `agent-${name}`),
        bundle,
        services: [],
        logger,
        overlay: overlayStreamHandler(applier, logger),
      });
      agents.push(agent);
      void agent.run();
    }
    await eventually('agents connected', async () =>
      Object.keys(sites).every((n) => ctl.tunnel.agents.has(n)),
    );
  });

  after(async () => {
    for (const a of agents) await a.stop().catch(() => {});
    for (const a of appliers) await a.stop(true).catch(() => {});
    await ctl?.close().catch(() => {});
    await teardown(runner, { prefix, dirs: Object.keys(sites).map((n) => `/run/skyway/${ns(n)}`) });
    rmSync(home, { recursive: true, force: true });
  });

  const state = async (hub: string) =>
    (
      (await ok('GET', `${O}/hubs/${hub}/connections`)) as Array<{
        metadata: { name: string };
        information: { state: string; message: string };
      }>
    ).map((c) => [c.metadata.name, c.information.state]);

  test('the devices reach each other through the hub over real IPsec', async () => {
    await ok('POST', '/scc/v1/overlays', { metadata: { name: 'ol' } });
    await ok('POST', `${O}/proposals`, {
      metadata: { name: 'p1' },
      spec: { encryption: 'aes256', hash: 'sha256', dhGroup: 'modp2048' },
    });
    await ok('POST', `${O}/ipranges`, { metadata: { name: 'r1' }, spec: { subnet: '10.201.0.0/24' } });
    await ok('POST', `${O}/hubs`, { metadata: { name: 'hub1' }, spec: { publicIps: [sites.hub1] } });
    for (const d of ['edge1', 'edge2'] as const) {
      await ok('POST', `${O}/devices`, {
        metadata: { name: d },
        spec: { publicIps: [sites[d]], forceHubConnectivity: true },
      });
      await ok('POST', `${O}/hubs/hub1/devices`, {
        metadata: { name: `hub1-${d}` },
        spec: { device: d, isDelegateHub: true },
      });
    }
    const started = Date.now();
    await eventually(
      'both hub-device connections established',
      async () => (await state('hub1')).every(([, s]) => s === 'established'),
      15_000,
    ).catch(async (e) => {
      console.log(JSON.stringify(await ok('GET', `${O}/hubs/hub1/connections`)));
      for (const d of await ctl.overlays.objects.documents('ol'))
        console.log(d.site, d.version, d.appliedVersion, JSON.stringify(d.report));
      for (const n of Object.keys(sites)) {
        const dir = `/run/skyway/${ns(n)}/strongswan`;
        for (const cmd of [
          ['tail', '-n', '40', `${dir}/charon.log`],
          ['tail', '-n', '10', `${dir}/charon.out`],
          ['swanctl', '--list-conns', '--uri', `unix://${dir}/charon.vici`],
          ['swanctl', '--list-sas', '--uri', `unix://${dir}/charon.vici`],
          ...(n === 'edge1'
            ? [
                [
                  'swanctl',
                  '--initiate',
                  '--child',
                  'ol-h-hub1',
                  '--timeout',
                  '8',
                  '--uri',
                  `unix://${dir}/charon.vici`,
                ],
              ]
            : []),
          ['ip', 'netns', 'exec', ns(n), 'ip', 'route', 'show', 'table', 'all'],
        ]) {
          const r = await runner.run(cmd[0]!, cmd.slice(1), { allowFail: true });
          console.log(`--- ${n}: ${cmd.join(' ')}\n${r.stdout}${r.stderr}`);
        }
      }
      throw e;
    });
    const upMs = Date.now() - started;
    const oip1 = (await ok('GET', `${O}/devices/edge1`)).status.Ip as string;
    const oip2 = (await ok('GET', `${O}/devices/edge2`)).status.Ip as string;
    assert.deepEqual([oip1, oip2], ['10.201.0.2', '10.201.0.3']);
    await eventually(
      'edge1 pings edge2 through the hub',
      () => ping(ns('edge1'), oip2, { from: oip1, count: 1 }),
      20_000,
    );
    assert.ok(await ping(ns('edge2'), oip1, { from: oip2, count: 3 }), 'and back');
    const sw = new Strongswan(runner);
    const sas = await sw.listSas(ns('hub1'));
    assert.equal(sas.filter((s) => s.state === 'ESTABLISHED').length, 2, 'the hub has one IKE SA per device');
    const before = sas.flatMap((s) => s.children).reduce((n, c) => n + c.packetsIn, 0);
    assert.ok(await ping(ns('edge1'), oip2, { from: oip1, count: 5 }));
    const afterSas = await sw.listSas(ns('hub1'));
    const grown = afterSas.flatMap((s) => s.children).reduce((n, c) => n + c.packetsIn, 0);
    assert.ok(grown >= before + 10, `ESP packets into the hub grew (${before} -> ${grown})`);
    // The underlay alone does not carry overlay addresses.
    const direct = await runner.run('ip', ['route', 'get', oip2], { netns: ns('inet'), allowFail: true });
    assert.notEqual(direct.code, 0, 'the internet namespace has no route to an OIP');
    console.log(`# overlay: POST connection to both tunnels established: ${upMs} ms`);
  });

  test('a CA rotation (every certificate re-issued) loses at most one ping of a 100 ms stream', async () => {
    const oip1 = '10.201.0.2';
    const oip2 = '10.201.0.3';
    const pinger = spawn('ip', [
      'netns',
      'exec',
      ns('edge1'),
      'ping',
      '-i',
      '0.1',
      '-c',
      '60',
      '-I',
      oip1,
      oip2,
    ]);
    let out = '';
    pinger.stdout.on('data', (c) => (out += c));
    const done = new Promise<void>((r) => pinger.once('close', () => r()));
    await new Promise((r) => setTimeout(r, 1000));
    await ok('POST', `${O}/ca/rotate`);
    // Every site's new document (new certificate, both CAs trusted) reaches its agent and is applied.
    await eventually(
      'every agent applied its document with the new certificate',
      async () => {
        const docs = await ctl.overlays.objects.documents('ol');
        return docs.every((d) => d.appliedVersion >= d.version && d.version >= 2);
      },
      30_000,
    );
    await done;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
    assert.ok(m, out);
    const lost = Number(m[1]) - Number(m[2]);
    console.log(`# overlay: pings lost during the CA rotation: ${lost} of ${m[1]}`);
    assert.ok(lost <= 1, `lost ${lost} pings during the rotation`);
    assert.ok((await state('hub1')).every(([, s]) => s === 'established'));
  });

  test('deleting a hub-device connection removes its tunnel and routes', async () => {
    await ok('DELETE', `${O}/hubs/hub1/devices/edge2`);
    const sw = new Strongswan(runner);
    await eventually(
      'the hub has one IKE SA left',
      async () => (await sw.listSas(ns('hub1'))).length === 1,
      20_000,
    );
    assert.equal(await ping(ns('edge1'), '10.201.0.3', { from: '10.201.0.2', count: 2 }), false);
    await eventually('edge2 has no routes into the tunnel', async () => {
      const r = await runner.run('ip', ['route', 'show', 'dev', 'ipsec0'], {
        netns: ns('edge2'),
        allowFail: true,
      });
      return !r.stdout.includes('10.201.0.0/24');
    });
    // Everything removed through the API, in reverse.
    await ok('DELETE', `${O}/hubs/hub1/devices/edge1`);
    for (const p of ['devices/edge1', 'devices/edge2', 'hubs/hub1', 'ipranges/r1', 'proposals/p1'])
      await ok('DELETE', `${O}/${p}`);
    await ok('DELETE', O);
    assert.deepEqual(await ok('GET', '/scc/v1/overlays'), []);
  });
});
