import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { Agent } from './agent.js';
import { agentRegistry, serveAgentMetrics } from './metrics.js';

test('the agent serves its per-service counters and tunnel state on /metrics', async () => {
  const home = mkdtempSync(join(tmpdir(), 'skyway-agent-metrics-'));
  const agent = new Agent({
    home,
    logger: pino({ level: 'silent' }),
    services: [{ name: 'web', type: 'x-web', url: 'http://127.0.0.1:1' }],
  });
  const counters = agent.stats.for('x-web/web');
  counters.requests = 3;
  counters.errors = 1;
  counters.active = 2;
  agent.emit('connected');
  const { url, server } = await serveAgentMetrics(agentRegistry(agent), '127.0.0.1', 0);
  try {
    const text = await (await fetch(url)).text();
    assert.match(text, /skyway_agent_requests_total\{service="x-web\/web"\} 3/);
    assert.match(text, /skyway_agent_request_errors_total\{service="x-web\/web"\} 1/);
    assert.match(text, /skyway_agent_open_streams\{service="x-web\/web"\} 2/);
    assert.match(text, /skyway_agent_tunnel_connected 1/);
    assert.match(text, /process_cpu_user_seconds_total/);
    assert.equal((await fetch(url.replace('/metrics', '/other'))).status, 404);
  } finally {
    server.close();
    rmSync(home, { recursive: true, force: true });
  }
});
