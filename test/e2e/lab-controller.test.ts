// The lab cloud under the real controller: two lab clouds, VMs created and a
// cross-cloud rule added through the REST API; the controller drives
// CreateVpnGateway / CreateVpnConnections and traffic flows over the VPN.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfig, type RunningController, startController } from '@skyway/controller';
import { teardown } from '@skyway/dataplane';
import { createLocalPlugin, type LocalPlugin } from '@skyway/plugin-local';
import { eventually, httpCommand, httpGet, runner, skipReason, testId } from './lab-helpers.js';

const skip = skipReason();
const id = testId();
const east = `${id}-east`;
const west = `${id}-west`;
const internet = `sky.${id}.inet`;

describe('lab clouds under the controller', { skip, timeout: 240_000 }, () => {
  let ctl: RunningController | undefined;
  let home = '';
  const plugins: LocalPlugin[] = [];
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await ctl!.app.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${ctl!.adminToken}` },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: res.statusCode, json: res.body ? JSON.parse(res.body) : undefined };
  };

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'skyway-labctl-'));
    const cloud = (c: string) => ({
      plugin: 'local',
      config: { stateDir: `/tmp/skyway-${id}-${c}`, internet },
    });
    const config = parseConfig(
      {
        listen: '127.0.0.1:0',
        namespaces: { default: { clouds: { [east]: cloud('east'), [west]: cloud('west') } } },
      },
      'test',
      home,
    );
    ctl = await startController({
      config,
      listen: false,
      inProcessPlugins: {
        local: ({ cloud: name, controller, config: c }) => {
          const p = createLocalPlugin({
            cloud: name,
            controller,
            stateDir: String(c.stateDir),
            internet: String(c.internet),
          });
          plugins.push(p);
          return p;
        },
      },
    });
  });
  after(async () => {
    await ctl?.close().catch(() => {});
    for (const p of plugins) await p.destroyLab().catch(() => {});
    await teardown(runner, {
      prefix: `sky.${id}`,
      dirs: [`/tmp/skyway-${id}-east`, `/tmp/skyway-${id}-west`],
    });
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test('a cross-cloud rule through the REST API brings up the VPN and opens the flow', async () => {
    const web = await call('POST', `/namespaces/default/clouds/${east}/resources`, {
      name: 'web',
      description: { region: 'r1', command: httpCommand(8080, 'hello-from-east') },
    });
    assert.equal(web.status, 201, JSON.stringify(web.json));
    const cli = await call('POST', `/namespaces/default/clouds/${west}/resources`, {
      name: 'cli',
      description: { region: 'r1' },
    });
    assert.equal(cli.status, 201, JSON.stringify(cli.json));
    const t0 = Date.now();
    const inbound = await call('POST', `/namespaces/default/clouds/${east}/resources/web/rules`, {
      name: 'from-cli',
      direction: 'INBOUND',
      dst_port: 8080,
      protocol: 6,
      tags: [cli.json.tag],
    });
    assert.equal(inbound.status, 200, JSON.stringify(inbound.json));
    const outbound = await call('POST', `/namespaces/default/clouds/${west}/resources/cli/rules`, {
      name: 'to-web',
      direction: 'OUTBOUND',
      dst_port: 8080,
      protocol: 6,
      tags: [web.json.tag],
    });
    assert.equal(outbound.status, 200, JSON.stringify(outbound.json));
    const body = await eventually(
      'west cli reaches east web over the VPN',
      () => httpGet(`sky.${west}.v.default.r1.cli`, `http://${web.json.ip}:8080/`, 2),
      40_000,
    );
    assert.equal(body, 'hello-from-east');
    console.log(`# rule added -> first byte across clouds: ${Date.now() - t0} ms`);
    const conns = await call('GET', '/api/v1/connections');
    assert.equal(conns.status, 200);
    assert.equal(JSON.stringify(conns.json).includes(east), true);
    const rules = await call('GET', `/namespaces/default/clouds/${east}/resources/web/rules`);
    assert.equal(rules.json.rules[0].targets[0].replace(/\/32$/, ''), cli.json.ip);
  });
});
