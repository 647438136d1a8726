// The console over the demo's setup: two lab clouds (real namespaces), its
// five VMs, a cross-cloud rule that brings up the VPN. In Chromium the
// topology shows both clouds, every VM and the VPN link with its state, and
// the overview lists the connection. Screenshots under test-artifacts/console/.
// Run under the e2e lock: flock /tmp/skyway-e2e.lock node --import tsx --test test/e2e/console-lab.test.ts
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserSkip, openBrowser, type Session } from './console-lib.js';
import { type LabController, skipReason, startLabController, testId } from './lab-helpers.js';

const skip = skipReason() ?? browserSkip();
const id = testId();
const east = `${id}-east`;
const west = `${id}-west`;
const vms = [
  { name: 'web-1', cloud: east, region: 'r1' },
  { name: 'app-1', cloud: east, region: 'r1' },
  { name: 'db-1', cloud: east, region: 'r2' },
  { name: 'web-2', cloud: west, region: 'r1' },
  { name: 'app-2', cloud: west, region: 'r1' },
];

describe('the console over the lab', { skip, timeout: 240_000 }, () => {
  let lab: LabController | undefined;
  let b: Session | undefined;
  let url = '';

  before(async () => {
    lab = await startLabController(id, ['east', 'west']);
    url = await lab.ctl.app.listen({ host: '127.0.0.1', port: 0 });
    b = await openBrowser();
  });
  after(async () => {
    await b?.close();
    await lab?.close();
  });

  test('the topology shows both lab clouds, every VM and the VPN', async () => {
    const call = lab!.call;
    const tags: Record<string, string> = {};
    for (const vm of vms) {
      const r = await call('POST', `/api/v1/namespaces/default/clouds/${vm.cloud}/resources`, {
        name: vm.name,
        description: { region: vm.region },
      });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      tags[vm.name] = r.json.tag;
    }
    // Across the clouds: app-2 (west) may reach web-1 (east) on port 80; the controller sets up the VPN.
    const rule = (name: string, direction: string, tag: string) => ({
      name,
      direction,
      protocol: 6,
      dst_port: 80,
      tags: [tag],
    });
    const inbound = await call(
      'POST',
      `/api/v1/namespaces/default/clouds/${east}/resources/web-1/rules`,
      rule('from-app-2', 'INBOUND', tags['app-2']!),
    );
    assert.equal(inbound.status, 200, JSON.stringify(inbound.json));
    const outbound = await call(
      'POST',
      `/api/v1/namespaces/default/clouds/${west}/resources/app-2/rules`,
      rule('to-web-1', 'OUTBOUND', tags['web-1']!),
    );
    assert.equal(outbound.status, 200, JSON.stringify(outbound.json));
    const conns = (await call('GET', '/api/v1/connections')).json.connections;
    assert.equal(conns.length, 1);

    const page = await b!.newPage();
    const code = await call('POST', '/api/v1/ui/login-codes', {});
    await page.goto(`${url}${code.json.path}`);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const vpn = page.locator('section', { has: page.getByRole('heading', { name: 'VPN connections' }) });
    assert.match(await vpn.innerText(), new RegExp(`${east} ↔ ${west}\\s+${conns[0].status}`));
    await b!.shot(page, 'lab-overview');

    await page.goto(`${url}/ui/#/topology`);
    await page.locator('.graph canvas').first().waitFor();
    const tree = await page.locator('.tree').innerText();
    for (const cloud of [east, west]) assert.ok(tree.includes(`${cloud} (local)`), cloud);
    for (const vm of vms) assert.ok(tree.includes(vm.name), vm.name);
    assert.match(tree, /region r2/);
    assert.match(
      await page.locator('.links').innerText(),
      new RegExp(`${east} \\(local\\) ↔ ${west} \\(local\\): VPN ${conns[0].status}`),
    );
    // The graph settles (the layout runs once) before the picture is taken.
    await page.waitForTimeout(500);
    await b!.shot(page, 'lab-topology');
    // A VM's node opens its page.
    await page.getByRole('link', { name: /^web-1 / }).click();
    await page.getByRole('heading', { name: `default/${east}/web-1` }).waitFor();
    assert.match(
      await page
        .locator('section', { has: page.getByRole('heading', { name: 'Who may reach it' }) })
        .innerText(),
      new RegExp(`default/${west}/app-2\\s+tcp\\s+80`),
    );
    await b!.shot(page, 'lab-resource');
    assert.deepEqual(b!.errors, []);
  });
});
