// Agents: services, versions, annotations, connections and request counts
// (the controller's per-connection counters).
import { api } from '../api.js';
import { html, Loading, Section, Table, useData } from '../ui.js';

export function Agents() {
  const data = useData(() => api('GET', '/api/v1/agents'));
  if (!data.value) return html`<h1>Agents</h1><${Loading} data=${data} />`;
  const agents = data.value.agents as any[];
  return html`<div>
    <h1>Agents</h1>
    ${
      agents.length === 0
        ? html`<p class="muted">No agent connected. <code>skyway agent bundle NAME</code> makes an enrollment bundle.</p>`
        : null
    }
    ${agents.map(
      (a) => html`<${Section} title=${a.name}>
        <p>
          ${a.connections} connection(s) · version ${a.versions.join(', ')} · ${a.requests} request(s), ${a.errors} error(s), ${a.active} in flight
          ${Object.entries(a.annotations).map(([k, v]) => html` <span class="badge">${k}=${v}</span>`)}
        </p>
        <h3>Services</h3>
        <${Table}
          cols=${['service', 'annotations']}
          rows=${a.services.map((s: any) => [
            `${s.type}/${s.name}`,
            Object.entries(s.annotations ?? {})
              .map(([k, v]) => `${k}=${v}`)
              .join(', '),
          ])}
        />
        <h3>Connections</h3>
        <${Table}
          cols=${['from', 'host', 'since', 'version', 'certificate expires', 'requests', 'errors']}
          rows=${a.sessions.map((c: any) => [c.remote, c.hostname, c.connectedAt, c.version, c.certificateExpires ?? '', c.requests, c.errors])}
        />
      <//>`,
    )}
  </div>`;
}
