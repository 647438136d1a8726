// The overview: clouds (plugin, version, credential check), counts, agents,
// VPN connections with their state, the last drift check, failed operations.
import { api, enc, optional } from '../api.js';
import { href } from '../router.js';
import { Badge, html, Loading, Section, Table, useData } from '../ui.js';

async function load() {
  const [plugins, resources, tags, agents, connections, drift, operations] = await Promise.all([
    api('GET', '/api/v1/plugins'),
    api('GET', '/api/v1/resources'),
    api('GET', '/api/v1/tags'),
    api('GET', '/api/v1/agents'),
    api('GET', '/api/v1/connections'),
    api('GET', '/api/v1/drift'),
    optional('/api/v1/operations'),
  ]);
  const clouds = await Promise.all(
    plugins.plugins.map(async (p: any) => ({
      ...p,
      describe: await api('GET', `/api/v1/plugins/${enc(p.namespace)}/${enc(p.cloud)}`).catch((e) => ({
        error: e.message,
      })),
    })),
  );
  return {
    clouds,
    resources: resources.resources,
    tags: tags.tags,
    agents: agents.agents,
    connections: connections.connections,
    drift: drift.last,
    operations: operations?.operations,
  };
}

export function Overview() {
  const data = useData(load);
  const d = data.value;
  if (!d) return html`<h1>Overview</h1><${Loading} data=${data} />`;
  const failed = (d.operations ?? []).filter((o: any) => ['failed', 'error'].includes(o.status ?? o.state));
  return html`<div>
    <h1>Overview</h1>
    <ul class="counts" aria-label="counts">
      <li><strong>${d.clouds.length}</strong> clouds</li>
      <li><strong>${d.resources.length}</strong> resources</li>
      <li><strong>${d.tags.length}</strong> tags</li>
      <li><strong>${d.agents.length}</strong> agents</li>
      <li><strong>${d.connections.length}</strong> VPN connections</li>
      <li><strong>${d.drift ? d.drift.drift.length : '–'}</strong> drift items</li>
    </ul>
    <${Section} title="Clouds">
      <${Table}
        cols=${['namespace', 'cloud', 'plugin', 'version', 'runtime', 'resources', 'credentials']}
        rows=${d.clouds.map((c: any) => [
          c.namespace,
          c.cloud,
          c.plugin,
          c.describe.version ?? '',
          c.runtime,
          d.resources.filter((r: any) => r.namespace === c.namespace && r.cloud === c.cloud).length,
          c.describe.error
            ? html`<${Badge} ok=${false} text=${c.describe.error} />`
            : html`<${Badge} ok=${c.describe.credentials?.ok} text=${c.describe.credentials?.ok ? 'ok' : c.describe.credentials?.message || 'failed'} />`,
        ])}
      />
    <//>
    <${Section} title="VPN connections">
      <${Table}
        cols=${['namespace', 'between', 'state', 'since']}
        rows=${d.connections.map((c: any) => [c.namespace, `${c.cloud_a} ↔ ${c.cloud_b}`, html`<${Badge} ok=${c.status === 'up' || c.status === 'ready'} text=${c.status} />`, c.created_at])}
      />
    <//>
    <${Section} title="Agents">
      <${Table}
        cols=${['agent', 'connections', 'services', 'requests', 'errors']}
        rows=${d.agents.map((a: any) => [html`<a href=${href('agents')}>${a.name}</a>`, a.connections, a.services.map((s: any) => `${s.type}/${s.name}`).join(', '), a.requests, a.errors])}
      />
    <//>
    <${Section} title="Drift">
      ${
        d.drift
          ? html`<p>Last check ${d.drift.started_at}: ${d.drift.drift.length} item(s), ${d.drift.errors.length} error(s). <a href=${href('drift')}>Drift report</a></p>`
          : html`<p class="muted">No drift check yet. <a href=${href('drift')}>Run one</a></p>`
      }
    <//>
    ${
      d.operations === undefined
        ? null
        : html`<${Section} title="Failed operations">
          <${Table} cols=${['operation', 'status', 'error']} rows=${failed.map((o: any) => [o.kind ?? o.type ?? o.id, o.status ?? o.state, o.error?.message ?? o.error ?? ''])} />
        <//>`
    }
  </div>`;
}
