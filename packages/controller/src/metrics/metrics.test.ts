// /metrics after real traffic: REST calls, plugin calls (one failing), drift
// found and repaired, an SSE subscriber, and requests through a real agent
// tunnel on loopback. Every family has a non-zero value; no token leaks.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Agent } from '@skyway/agent';
import { inProcess } from '@skyway/plugin-sdk';
import { createFakePlugin, type FakePlugin } from '@skyway/plugin-sdk/testing';
import pino from 'pino';
import { parseConfig } from '../config.js';
import { type RunningController, startController } from '../controller.js';

const home = mkdtempSync(join(tmpdir(), 'skyway-metrics-'));
let c: RunningController;
let agent: Agent;
let origin: http.Server;
const fakes = new Map<string, FakePlugin>();

async function api(method: string, path: string, body?: unknown, token = c.adminToken) {
  const res = await fetch(`${c.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, text, json: text.startsWith('{') ? JSON.parse(text) : undefined };
}

function get(url: string, ca: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      })
      .on('error', reject);
  });
}

before(async () => {
  const config = parseConfig(
    {
      listen: '127.0.0.1:0',
      metrics_listen: '127.0.0.1:0',
      namespaces: { default: { clouds: { east: { plugin: 'fake' } } } },
      poll_interval: 0,
    },
    'test',
    home,
  );
  c = await startController({
    config,
    inProcessPlugins: {
      fake: ({ cloud, namespace, controller }) => {
        const fake = createFakePlugin({ cloud, controller });
        fakes.set(`${namespace}/${cloud}`, fake);
        return fake;
      },
    },
  });
  origin = http.createServer((_req, res) => res.end('hello from the private service'));
  await new Promise<void>((ok) => origin.listen(0, '127.0.0.1', ok));
  const bundle = (await api('POST', '/api/v1/agents/edge-1/enrollment-bundle', { ttl: '10m' })).json;
  agent = new Agent({
    home: join(home, 'agent'),
    bundle,
    logger: pino({ level: 'silent' }),
    services: [
      { name: 'web', type: 'x-web', url: `http://127.0.0.1:${(origin.address() as { port: number }).port}` },
    ],
  });
  void agent.run();
  await once(agent, 'connected');
  while (!c.tunnel.agents.has('edge-1')) await new Promise((r) => setTimeout(r, 20));
});

after(async () => {
  await agent?.stop();
  await c?.close();
  origin?.close();
  rmSync(home, { recursive: true, force: true });
});

const value = (text: string, family: string, labels = '') => {
  const line = text
    .split('\n')
    .find(
      (l) => (l.startsWith(`${family}{`) && l.includes(labels)) || (!labels && l.startsWith(`${family} `)),
    );
  return line ? Number(line.split(' ').at(-1)) : undefined;
};

test('/metrics has every family with non-zero values after traffic, and no secret in it', async () => {
  const vm = '/api/v1/namespaces/default/clouds/east/resources';
  assert.equal((await api('POST', vm, { name: 'vm-a', description: '{}' })).status, 201);
  const rule = { name: 'web', direction: 'INBOUND', protocol: 6, dst_port: 80, tags: ['10.2.0.0/16'] };
  assert.equal((await api('POST', `${vm}/vm-a/applyRules`, [rule])).status, 200);
  // Drift: the rule removed behind the controller's back, found and repaired.
  const uri = (await api('GET', `${vm}/vm-a`)).json.uri;
  await inProcess(fakes.get('default/east')!).deletePermitListRules({
    namespace: 'default',
    resource: uri,
    ruleNames: ['web'],
  });
  const drift = await api('POST', '/api/v1/drift/check', {});
  assert.equal(drift.json.drift.length, 1);
  // A plugin call that fails: the resource gone from the cloud, its rules applied again.
  await inProcess(fakes.get('default/east')!).deleteResource({
    deployment: { id: 'east', namespace: 'default' },
    resource: uri,
  });
  assert.equal((await api('POST', `${vm}/vm-a/applyRules`, [rule])).status, 404);
  // A live SSE subscriber.
  const sse = new AbortController();
  const events = await fetch(`${c.url}/api/v1/events`, {
    headers: { authorization: `Bearer ${c.adminToken}` },
    signal: sse.signal,
  });
  assert.equal(events.status, 200);
  // Through the tunnel: two good requests and one to a service that does not answer.
  const cred = (
    await api('POST', '/api/v1/agents/edge-1/service-credentials', {
      serviceType: 'x-web',
      serviceName: 'web',
    })
  ).json;
  const service = c.tunnel.urls.service;
  assert.equal(await get(`${service}/a`, cred.ca, cred.token), 200);
  assert.equal(await get(`${service}/b`, cred.ca, cred.token), 200);
  const none = (
    await api('POST', '/api/v1/agents/edge-1/service-credentials', {
      serviceType: 'x-none',
      serviceName: 'none',
    })
  ).json;
  assert.equal(await get(`${service}/`, none.ca, none.token), 503);

  const scraped = await api('GET', '/metrics');
  sse.abort();
  assert.equal(scraped.status, 200);
  const text = scraped.text;
  for (const [family, labels] of [
    [
      'skyway_http_requests_total',
      'route="/api/v1/namespaces/:namespace/clouds/:cloud/resources",method="POST",status="201"',
    ],
    ['skyway_http_request_duration_seconds_count', 'method="POST"'],
    ['skyway_plugin_calls_total', 'cloud="east",method="createResource",code="OK"'],
    ['skyway_plugin_calls_total', 'method="addPermitListRules",code="NOT_FOUND"'],
    ['skyway_plugin_call_duration_seconds_count', 'cloud="east"'],
    ['skyway_drift_detected_total', 'cloud="east",kind="rules"'],
    ['skyway_drift_repaired_total', 'cloud="east",kind="rules"'],
    ['skyway_event_subscribers', ''],
    ['skyway_tunnel_agents_connected', ''],
    ['skyway_tunnel_connections', 'agent="edge-1"'],
    ['skyway_tunnel_requests_total', 'agent="edge-1",service="x-web/web"'],
    ['skyway_tunnel_bytes_total', 'agent="edge-1",service="x-web/web",direction="to_agent"'],
    ['skyway_tunnel_bytes_total', 'agent="edge-1",service="x-web/web",direction="from_agent"'],
    ['skyway_tunnel_relay_errors_total', 'agent="edge-1",service="x-none/none"'],
    ['process_cpu_user_seconds_total', ''],
    ['process_resident_memory_bytes', ''],
  ] as const) {
    const v = value(text, family, labels);
    assert.ok(v !== undefined && v > 0, `${family}{${labels}} is ${v}`);
  }
  assert.match(text, /# TYPE skyway_tunnel_open_streams gauge/);
  for (const secret of [c.adminToken, cred.token, none.token]) assert.ok(!text.includes(secret));
  assert.ok(!text.includes('vm-a'), 'no resource names or URLs in labels');

  // Every controller family the Grafana dashboard charts is exported.
  const dashboard = readFileSync(new URL('../../../../docs/grafana-skyway.json', import.meta.url), 'utf8');
  const charted = new Set(
    [...dashboard.matchAll(/\b(skyway_[a-z_]+)/g)]
      .map((m) => m[1]!.replace(/_bucket$/, ''))
      .filter((n) => !n.startsWith('skyway_agent_')),
  );
  assert.ok(charted.size >= 10);
  for (const name of charted) assert.match(text, new RegExp(`# TYPE ${name} `), name);

  // A viewer may scrape; a token of another kind may not.
  const viewer = await api('POST', '/api/v1/tokens', { subject: 'prom', role: 'viewer', namespaces: ['*'] });
  assert.equal((await api('GET', '/metrics', undefined, viewer.json.token)).status, 200);
  assert.equal((await api('GET', '/metrics', undefined, cred.token)).status, 403);
  // The API's access applies: no token, no metrics; the listener of its own needs none.
  assert.equal((await fetch(`${c.url}/metrics`)).status, 401);
  const own = await fetch(c.metricsUrl!);
  assert.equal(own.status, 200);
  assert.match(await own.text(), /skyway_tunnel_requests_total\{agent="edge-1",service="x-web\/web"\} 2/);
});
