// The topology, laid out automatically (clouds in columns, regions stacked,
// VMs in rows: see layout()), zoomable; a click or Enter on a node opens its page.
// The same nodes are listed as links below the graph, for keyboards and
// screen readers.
import cytoscape from 'cytoscape';
import { useEffect, useRef } from 'preact/hooks';
import { api, enc, optional } from '../api.js';
import { go, href } from '../router.js';
import { html, Loading, Section, useData } from '../ui.js';
import { type Edge, layout, type Node, topology } from './topology-model.js';

async function load() {
  const [plugins, resources, connections, agents, overlays] = await Promise.all([
    api('GET', '/api/v1/plugins'),
    api('GET', '/api/v1/resources'),
    api('GET', '/api/v1/connections'),
    api('GET', '/api/v1/agents'),
    optional<any[]>('/scc/v1/overlays'),
  ]);
  return topology({
    clouds: plugins.plugins,
    resources: resources.resources,
    connections: connections.connections,
    agents: agents.agents,
    overlays: Array.isArray(overlays) ? await Promise.all(overlays.map(loadOverlay)) : undefined,
  });
}

/** An overlay (SCC-compatible API): its hubs, devices, and the hub-device tunnels with their state. */
async function loadOverlay(o: any) {
  const name = o.metadata.name as string;
  const base = `/scc/v1/overlays/${enc(name)}`;
  const [hubs, devices] = await Promise.all([
    api<any[]>('GET', `${base}/hubs`),
    api<any[]>('GET', `${base}/devices`),
  ]);
  const end = (e: any) => String(e?.name ?? '').replace(/^(Hub|Device)\./, '');
  const tunnels = (
    await Promise.all(hubs.map((h) => api<any[]>('GET', `${base}/hubs/${enc(h.metadata.name)}/connections`)))
  )
    .flat()
    .map((c) => ({
      from: end(c.information?.end1),
      to: end(c.information?.end2),
      state: c.information?.state,
    }));
  return {
    name,
    hubs: hubs.map((h) => ({ name: h.metadata.name })),
    devices: devices.map((d) => ({ name: d.metadata.name })),
    tunnels,
  };
}

const colors: Record<Node['kind'], string> = {
  controller: '#334155',
  cloud: '#e0f2fe',
  region: '#f1f5f9',
  vm: '#0369a1',
  agent: '#fef3c7',
  service: '#b45309',
  hub: '#6d28d9',
  device: '#7c3aed',
};

function Graph({ nodes, edges }: { nodes: Node[]; edges: Edge[] }) {
  const box = useRef<HTMLDivElement>(null);
  const cy = useRef<cytoscape.Core | undefined>(undefined);
  useEffect(() => {
    const c = cytoscape({
      container: box.current!,
      elements: [
        ...nodes.map((n) => ({
          data: { id: n.id, label: n.label, kind: n.kind, parent: n.parent, route: n.route },
        })),
        ...edges.map((e) => ({
          data: {
            id: e.id,
            source: e.source,
            target: e.target,
            label: e.label,
            kind: e.kind,
            state: e.ok === undefined ? 'unknown' : e.ok ? 'ok' : 'bad',
          },
        })),
      ],
      style: [
        {
          selector: 'node',
          style: {
            label: 'data(label)',
            'text-wrap': 'wrap',
            'font-size': 10,
            'text-valign': 'bottom',
            'text-margin-y': 4,
            'background-color': (n: cytoscape.NodeSingular) => colors[n.data('kind') as Node['kind']],
            width: 22,
            height: 22,
          },
        },
        {
          selector: ':parent',
          style: {
            'text-valign': 'top',
            'background-opacity': 0.6,
            'border-width': 1,
            'border-color': '#94a3b8',
            padding: '14px',
          },
        },
        {
          selector: 'edge',
          style: {
            width: 2,
            'curve-style': 'bezier',
            label: 'data(label)',
            'font-size': 9,
            'line-color': '#94a3b8',
          },
        },
        { selector: 'edge[kind = "vpn"]', style: { width: 4 } },
        { selector: 'edge[state = "ok"]', style: { 'line-color': '#16a34a' } },
        { selector: 'edge[state = "bad"]', style: { 'line-color': '#dc2626', 'line-style': 'dashed' } },
        { selector: 'node:selected', style: { 'border-width': 3, 'border-color': '#f59e0b' } },
      ],
      layout: { name: 'preset', positions: layout(nodes), fit: true, padding: 30 },
      wheelSensitivity: 0.3,
    });
    c.on('tap', 'node', (e) => {
      const route = e.target.data('route') as string[] | undefined;
      if (route) go(...route);
    });
    cy.current = c;
    return () => c.destroy();
  }, [nodes, edges]);
  const zoom = (f: number) =>
    cy.current?.zoom({
      level: cy.current.zoom() * f,
      renderedPosition: { x: box.current!.clientWidth / 2, y: box.current!.clientHeight / 2 },
    });
  return html`<div>
    <div class="actions" role="toolbar" aria-label="zoom">
      <button onClick=${() => zoom(1.25)} aria-label="zoom in">+</button>
      <button onClick=${() => zoom(0.8)} aria-label="zoom out">−</button>
      <button onClick=${() => cy.current?.fit(undefined, 20)}>Fit</button>
    </div>
    <div class="graph" ref=${box} role="img" aria-label="network topology"></div>
  </div>`;
}

export function Topology() {
  const data = useData(load);
  if (!data.value) return html`<h1>Topology</h1><${Loading} data=${data} />`;
  const { nodes, edges } = data.value;
  const byParent = (p?: string) => nodes.filter((n) => n.parent === p && n.kind !== 'controller');
  const item = (n: Node): unknown => html`<li data-kind=${n.kind}>
    ${n.route ? html`<a href=${href(...n.route)}>${n.label.replace('\n', ' ')}</a>` : n.label.replace('\n', ' ')}
    ${byParent(n.id).length ? html`<ul>${byParent(n.id).map(item)}</ul>` : null}
  </li>`;
  return html`<div>
    <h1>Topology</h1>
    <${Graph} nodes=${nodes} edges=${edges} />
    <${Section} title="Nodes">
      <ul class="tree">${byParent(undefined).map(item)}</ul>
    <//>
    <${Section} title="Links">
      <ul class="links">
        ${edges.map((e) => html`<li data-kind=${e.kind}>${nodes.find((n) => n.id === e.source)?.label.split('\n')[0]} ↔ ${nodes.find((n) => n.id === e.target)?.label.split('\n')[0]}: ${e.label}</li>`)}
      </ul>
    <//>
  </div>`;
}
