// The lab cloud under the real controller: two lab clouds, VMs created and a
// cross-cloud rule added through the REST API; the controller drives
// CreateVpnGateway / CreateVpnConnections and traffic flows over the VPN.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LabNames } from '@skyway/plugin-local';
import {
  eventually,
  httpCommand,
  httpGet,
  type LabController,
  skipReason,
  startLabController,
  testId,
} from './lab-helpers.js';

const skip = skipReason();
const id = testId();
const east = `${id}-east`;
const west = `${id}-west`;

describe('lab clouds under the controller', { skip, timeout: 240_000 }, () => {
  let lab: LabController | undefined;
  const call: LabController['call'] = (method, url, body) => lab!.call(method, url, body);

  before(async () => {
    lab = await startLabController(id, ['east', 'west']);
  });
  after(() => lab?.close());

  test('a cross-cloud rule through the REST API brings up the VPN and opens the flow', async () => {
    const web = await call('POST', `/api/v1/namespaces/default/clouds/${east}/resources`, {
      name: 'web',
      description: { region: 'r1', command: httpCommand(8080, 'hello-from-east') },
    });
    assert.equal(web.status, 201, JSON.stringify(web.json));
    const cli = await call('POST', `/api/v1/namespaces/default/clouds/${west}/resources`, {
      name: 'cli',
      description: { region: 'r1' },
    });
    assert.equal(cli.status, 201, JSON.stringify(cli.json));
    const t0 = Date.now();
    const inbound = await call('POST', `/api/v1/namespaces/default/clouds/${east}/resources/web/rules`, {
      name: 'from-cli',
      direction: 'INBOUND',
      dst_port: 8080,
      protocol: 6,
      tags: [cli.json.tag],
    });
    assert.equal(inbound.status, 200, JSON.stringify(inbound.json));
    const outbound = await call('POST', `/api/v1/namespaces/default/clouds/${west}/resources/cli/rules`, {
      name: 'to-web',
      direction: 'OUTBOUND',
      dst_port: 8080,
      protocol: 6,
      tags: [web.json.tag],
    });
    assert.equal(outbound.status, 200, JSON.stringify(outbound.json));
    const body = await eventually(
      'west cli reaches east web over the VPN',
      () => httpGet(new LabNames(west).vm('default', 'r1', 'cli'), `http://${web.json.ip}:8080/`, 2),
      40_000,
    );
    assert.equal(body, 'hello-from-east');
    console.log(`# rule added -> first byte across clouds: ${Date.now() - t0} ms`);
    const conns = await call('GET', '/api/v1/connections');
    assert.equal(conns.status, 200);
    assert.equal(JSON.stringify(conns.json).includes(east), true);
    const rules = await call('GET', `/api/v1/namespaces/default/clouds/${east}/resources/web/rules`);
    assert.equal(rules.json.rules[0].targets[0].replace(/\/32$/, ''), cli.json.ip);
  });
});
