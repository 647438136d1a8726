// What the topology shows, as graph elements: clouds, their regions (from
// the resource URI, scheme://cloud/namespace/region/name), VMs, the VPN
// links between clouds with their state, the controller and its agents with
// their services, and overlays' hubs, devices and tunnels where the
// controller has them. Pure: tested without a browser.
export interface Node {
  id: string;
  label: string;
  kind: 'controller' | 'cloud' | 'region' | 'vm' | 'agent' | 'service' | 'hub' | 'device';
  parent?: string;
  /** The console route that opens it. */
  route?: string[];
}

export interface Edge {
  id: string;
  source: string;
  target: string;
  label: string;
  kind: 'vpn' | 'tunnel' | 'agent' | 'overlay';
  ok?: boolean;
}

export interface TopologyInput {
  clouds: Array<{ namespace: string; cloud: string; plugin: string }>;
  resources: Array<{ namespace: string; cloud: string; name: string; uri: string; ip: string }>;
  connections: Array<{ namespace: string; cloud_a: string; cloud_b: string; status: string }>;
  agents: Array<{ name: string; services: Array<{ type: string; name: string }>; connections: number }>;
  overlays?: Array<{
    name: string;
    hubs?: Array<{ name: string; cloud?: string }>;
    devices?: Array<{ name: string }>;
    tunnels?: Array<{ from: string; to: string; state?: string }>;
  }>;
}

const regionOf = (uri: string) => {
  const parts = uri.replace(/^[a-z0-9+.-]+:\/\//i, '').split('/');
  return parts.length >= 4 ? parts[parts.length - 2] : undefined;
};

export function topology(input: TopologyInput): { nodes: Node[]; edges: Edge[] } {
  const nodes: Node[] = [{ id: 'controller', label: 'Skyway controller', kind: 'controller' }];
  const edges: Edge[] = [];
  const cloudId = (ns: string, c: string) => `cloud:${ns}/${c}`;
  for (const c of input.clouds)
    nodes.push({
      id: cloudId(c.namespace, c.cloud),
      label: `${c.cloud} (${c.plugin})`,
      kind: 'cloud',
      route: ['overview'],
    });
  const regions = new Set<string>();
  for (const r of input.resources) {
    const cloud = cloudId(r.namespace, r.cloud);
    const region = regionOf(r.uri);
    let parent = cloud;
    if (region) {
      parent = `region:${r.namespace}/${r.cloud}/${region}`;
      if (!regions.has(parent)) {
        regions.add(parent);
        nodes.push({ id: parent, label: `region ${region}`, kind: 'region', parent: cloud });
      }
    }
    nodes.push({
      id: `vm:${r.namespace}/${r.cloud}/${r.name}`,
      label: `${r.name}\n${r.ip}`,
      kind: 'vm',
      parent,
      route: ['resource', r.namespace, r.cloud, r.name],
    });
  }
  for (const c of input.connections)
    edges.push({
      id: `vpn:${c.namespace}/${c.cloud_a}/${c.cloud_b}`,
      source: cloudId(c.namespace, c.cloud_a),
      target: cloudId(c.namespace, c.cloud_b),
      label: `VPN ${c.status}`,
      kind: 'vpn',
      ok: c.status === 'up' || c.status === 'ready',
    });
  for (const a of input.agents) {
    const id = `agent:${a.name}`;
    nodes.push({ id, label: `agent ${a.name}`, kind: 'agent', route: ['agents'] });
    edges.push({
      id: `link:${a.name}`,
      source: 'controller',
      target: id,
      label: `${a.connections} conn.`,
      kind: 'agent',
      ok: a.connections > 0,
    });
    for (const s of a.services)
      nodes.push({
        id: `svc:${a.name}/${s.type}/${s.name}`,
        label: `${s.type}/${s.name}`,
        kind: 'service',
        parent: id,
        route: ['agents'],
      });
  }
  for (const o of input.overlays ?? []) {
    const ids = new Map<string, string>();
    for (const h of o.hubs ?? []) {
      const id = `hub:${o.name}/${h.name}`;
      ids.set(h.name, id);
      nodes.push({ id, label: `hub ${h.name}`, kind: 'hub' });
    }
    for (const d of o.devices ?? []) {
      const id = `device:${o.name}/${d.name}`;
      ids.set(d.name, id);
      nodes.push({ id, label: `device ${d.name}`, kind: 'device' });
    }
    for (const t of o.tunnels ?? []) {
      const source = ids.get(t.from);
      const target = ids.get(t.to);
      if (source && target)
        edges.push({
          id: `ovl:${o.name}/${t.from}/${t.to}`,
          source,
          target,
          label: t.state ?? o.name,
          kind: 'overlay',
          ok: t.state ? t.state === 'established' || t.state === 'up' : undefined,
        });
    }
  }
  const known = new Set(nodes.map((n) => n.id));
  return { nodes, edges: edges.filter((e) => known.has(e.source) && known.has(e.target)) };
}

/**
 * Positions for the leaf nodes (a compound node takes the box of its children):
 * the controller on top, each cloud a column with its regions stacked and their
 * VMs in rows of four, the agents and their services in a row below.
 */
export function layout(nodes: Node[]): Record<string, { x: number; y: number }> {
  const pos: Record<string, { x: number; y: number }> = {};
  const step = 110;
  const perRow = 4;
  const children = (id: string) => nodes.filter((n) => n.parent === id);
  let x = 0;
  let bottom = 0;
  for (const cloud of nodes.filter((n) => n.kind === 'cloud')) {
    let y = 0;
    let width = 1;
    const groups = children(cloud.id);
    if (groups.length === 0) pos[cloud.id] = { x, y };
    for (const g of groups) {
      const leaves = g.kind === 'region' ? children(g.id) : [g];
      if (leaves.length === 0) pos[g.id] = { x, y };
      leaves.forEach((leaf, i) => {
        pos[leaf.id] = { x: x + (i % perRow) * step, y: y + Math.floor(i / perRow) * step };
      });
      width = Math.max(width, Math.min(perRow, leaves.length));
      y += (Math.ceil(Math.max(1, leaves.length) / perRow) + 0.6) * step;
    }
    bottom = Math.max(bottom, y);
    x += (width + 1.2) * step;
  }
  const agents = nodes.filter((n) => n.kind === 'agent');
  let ax = 0;
  for (const a of agents) {
    const services = children(a.id);
    if (services.length === 0) pos[a.id] = { x: ax, y: bottom + step };
    services.forEach((s, i) => {
      pos[s.id] = { x: ax + i * step, y: bottom + step };
    });
    ax += (Math.max(1, services.length) + 0.8) * step;
  }
  const others = nodes.filter((n) => (n.kind === 'hub' || n.kind === 'device') && !n.parent);
  others.forEach((n, i) => {
    pos[n.id] = { x: i * step, y: bottom + (agents.length ? 2.5 : 1) * step };
  });
  pos.controller = { x: Math.max(0, (Math.max(x, ax) - 2 * step) / 2), y: -1.6 * step };
  return pos;
}
