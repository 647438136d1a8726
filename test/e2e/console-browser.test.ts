// The web console in real Chromium against a real controller (two in-process
// fake clouds, loopback only): sign in with a `skyway ui` login code, the
// overview, a rule added through the form (a field error first, then its
// event and its resolved targets), every page, and a viewer who sees no write
// buttons and whose direct write is refused. No errors in the browser console.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createFakePlugin } from '@skyway/plugin-sdk/testing';
import { parseConfig } from '../../packages/controller/src/config.js';
import { type RunningController, startController } from '../../packages/controller/src/controller.js';
import { browserSkip, openBrowser, type Session } from './console-lib.js';

const home = mkdtempSync(join(tmpdir(), 'skyway-console-'));
let c: RunningController;
let b: Session;

async function api(method: string, path: string, body?: unknown, token = c.adminToken) {
  const res = await fetch(`${c.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: (await res.json()) as any };
}

before(async () => {
  if (browserSkip()) return;
  c = await startController({
    config: parseConfig(
      {
        listen: '127.0.0.1:0',
        namespaces: { default: { clouds: { east: { plugin: 'fake' }, west: { plugin: 'fake' } } } },
        poll_interval: 0,
      },
      'test',
      home,
    ),
    inProcessPlugins: { fake: ({ cloud, controller }) => createFakePlugin({ cloud, controller }) },
  });
  const vm = (cloud: string) => `/api/v1/namespaces/default/clouds/${cloud}/resources`;
  assert.equal((await api('POST', vm('east'), { name: 'web-1', description: '{}' })).status, 201);
  assert.equal((await api('POST', vm('west'), { name: 'app-1', description: '{}' })).status, 201);
  assert.equal((await api('PUT', '/api/v1/tags/app', { child_tags: ['default.west.app-1'] })).status, 200);
  b = await openBrowser();
});

after(async () => {
  await b?.close();
  await c?.close();
  rmSync(home, { recursive: true, force: true });
});

test('sign in, overview, add a rule through the form, every page, a viewer', {
  timeout: 90_000,
}, async () => {
  const page = await b.newPage();
  const code = await api('POST', '/api/v1/ui/login-codes', {});
  await page.goto(`${c.url}${code.json.path}`);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  const clouds = page.locator('section', { has: page.getByRole('heading', { name: 'Clouds' }) });
  await clouds.getByText('east (', { exact: false }).count(); // rendered
  assert.match(await clouds.innerText(), /east[\s\S]*fake[\s\S]*0\.1\.0[\s\S]*ok/);
  assert.match(await clouds.innerText(), /west/);
  assert.ok(!page.url().includes('code='), 'the login code leaves the address bar');
  await b.shot(page, 'overview');

  // The events page, live, in a second tab.
  const events = await b.newPage();
  await events.goto(`${c.url}/ui/#/events`);
  await events.getByText('(live)').waitFor();

  // A rule through the form: first a port out of range (the API's message, at the field).
  await page.goto(`${c.url}/ui/#/resource/default/east/web-1`);
  await page.getByRole('heading', { name: 'default/east/web-1' }).waitFor();
  await page.getByLabel('Name').fill('http-in');
  await page.getByLabel('Port').fill('99999');
  await page.getByLabel('Tags or CIDRs').fill('app');
  await page.getByRole('button', { name: 'Add rule' }).click();
  const fieldError = page.locator('#err-dst_port');
  await fieldError.waitFor();
  assert.match(
    await fieldError.innerText(),
    /rule\.dst_port must be -1 \(any\) or an integer port 0-65535, got 99999/,
  );
  assert.equal(await page.getByLabel('Port').getAttribute('aria-invalid'), 'true');
  await b.shot(page, 'rule-field-error');
  await page.getByLabel('Port').fill('80');
  await page.getByRole('button', { name: 'Add rule' }).click();
  const rules = page.locator('section', { has: page.getByRole('heading', { name: 'Rules' }) });
  await rules.getByRole('cell', { name: 'http-in', exact: true }).waitFor();
  const app1 = (await api('GET', '/api/v1/namespaces/default/clouds/west/resources/app-1')).json.ip;
  assert.match(
    await rules.innerText(),
    new RegExp(`http-in\\s+inbound\\s+tcp\\s+80\\s+app\\s+${app1.replace(/\./g, '\\.')}`),
  );
  const reach = page.locator('section', { has: page.getByRole('heading', { name: 'Who may reach it' }) });
  assert.match(await reach.innerText(), /default\/west\/app-1\s+tcp\s+80\s+http-in/);
  await b.shot(page, 'resource');
  await events.getByRole('cell', { name: 'rules.applied', exact: true }).first().waitFor();
  assert.match(await events.locator('tbody').innerText(), /rules\.applied\s+default\/east\/web-1/);
  await b.shot(events, 'events');

  // Every other page.
  for (const [route, heading] of [
    ['topology', 'Topology'],
    ['tags', 'Tags'],
    ['agents', 'Agents'],
    ['drift', 'Drift'],
    ['registry', 'Plugin registry'],
    ['credentials', 'Credentials'],
  ]) {
    await page.goto(`${c.url}/ui/#/${route}`);
    await page.getByRole('heading', { name: heading, exact: true }).waitFor();
    if (route === 'topology') {
      await page.locator('.graph canvas').first().waitFor();
      const tree = await page.locator('.tree').innerText();
      for (const name of ['east (fake)', 'west (fake)', 'web-1', 'app-1'])
        assert.ok(tree.includes(name), name);
    }
    if (route === 'tags')
      assert.match(
        await page.locator('article.tag').innerText(),
        /Subscribers: default\/east\/web-1:http-in/,
      );
    if (route === 'drift') {
      await page.getByRole('button', { name: 'Check and repair' }).click();
      await page.getByText('no drift: every cloud matches the store').waitFor();
    }
    await b.shot(page, route);
  }

  // A viewer: signed in with a pasted token, no write buttons, and a write refused by the API.
  const viewer = await api('POST', '/api/v1/tokens', {
    subject: 'vic',
    role: 'viewer',
    namespaces: ['default'],
  });
  await page.goto(`${c.url}/ui/#/overview`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API token').fill(viewer.json.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('vic · viewer').waitFor();
  await page.goto(`${c.url}/ui/#/resource/default/east/web-1`);
  await page.getByRole('cell', { name: 'http-in', exact: true }).first().waitFor();
  assert.equal(await page.getByRole('button', { name: 'Add rule' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: /delete/i }).count(), 0);
  await b.shot(page, 'resource-viewer');
  await page.goto(`${c.url}/ui/#/drift`);
  await page.getByRole('heading', { name: 'Drift', exact: true }).waitFor();
  assert.equal(await page.getByRole('button', { name: /check/i }).count(), 0);
  const status = await page.evaluate(async () => {
    const r = await fetch('/api/v1/namespaces/default/clouds/east/resources/web-1/rules/http-in', {
      method: 'DELETE',
      headers: { 'x-skyway-console': '1' },
    });
    return r.status;
  });
  assert.equal(status, 403);
  assert.equal(
    (await api('GET', '/api/v1/namespaces/default/clouds/east/resources/web-1/rules')).json.rules.length,
    1,
  );
  // Chromium logs every refused request as an error: the two made on purpose above (the
  // out-of-range port, the viewer's write) are the only ones allowed.
  const unexpected = b.errors.filter((e) => !/Failed to load resource: .* status of (400|403)/.test(e));
  assert.deepEqual(unexpected, []);
  assert.equal(b.errors.length, 2, b.errors.join('\n'));
});
