// The console's shell: who is signed in, the navigation, and the page the
// route names. A viewer sees no write buttons (the API refuses them anyway).
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, type Me } from './api.js';
import { Agents } from './pages/agents.js';
import { Credentials } from './pages/credentials.js';
import { Drift } from './pages/drift.js';
import { Events } from './pages/events.js';
import { Overview } from './pages/overview.js';
import { Registry } from './pages/registry.js';
import { Resource } from './pages/resource.js';
import { SignIn } from './pages/sign-in.js';
import { Tags } from './pages/tags.js';
import { Topology } from './pages/topology.js';
import { href, useRoute } from './router.js';
import { html } from './ui.js';

const pages = [
  ['overview', 'Overview'],
  ['topology', 'Topology'],
  ['tags', 'Tags'],
  ['agents', 'Agents'],
  ['events', 'Events'],
  ['drift', 'Drift'],
  ['registry', 'Plugins'],
  ['credentials', 'Credentials'],
] as const;

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const route = useRoute();
  useEffect(() => {
    if (/[#&]code=/.test(location.hash)) {
      setMe(null);
      return;
    }
    api<Me>('GET', '/api/v1/ui/session').then(setMe, (e) => {
      if (e instanceof ApiError && e.status === 401) setMe(null);
      else throw e;
    });
  }, []);
  if (me === undefined) return html`<p class="muted">…</p>`;
  if (me === null) return html`<${SignIn} onSignedIn=${setMe} />`;
  const canWrite = me.role !== 'viewer';
  const [page = 'overview', ...args] = route;
  const signOut = async () => {
    await api('DELETE', '/api/v1/ui/session');
    setMe(null);
  };
  const body =
    page === 'topology'
      ? html`<${Topology} />`
      : page === 'tags'
        ? html`<${Tags} canWrite=${canWrite} />`
        : page === 'agents'
          ? html`<${Agents} />`
          : page === 'events'
            ? html`<${Events} />`
            : page === 'drift'
              ? html`<${Drift} canWrite=${canWrite} />`
              : page === 'registry'
                ? html`<${Registry} />`
                : page === 'credentials'
                  ? html`<${Credentials} me=${me} />`
                  : page === 'resource' && args.length === 3
                    ? html`<${Resource} key=${args.join('/')} ns=${args[0]} cloud=${args[1]} name=${args[2]} canWrite=${canWrite} />`
                    : html`<${Overview} />`;
  return html`<div class="shell">
    <a class="skip" href="#main">Skip to content</a>
    <header>
      <strong class="brand">Skyway</strong>
      <nav aria-label="pages">
        ${pages.map(([p, label]) => html`<a href=${href(p)} aria-current=${page === p ? 'page' : undefined}>${label}</a>`)}
      </nav>
      <span class="who">${me.subject} · ${me.role} · ${me.namespaces.join(', ')}</span>
      <button onClick=${signOut}>Sign out</button>
    </header>
    <main id="main" tabindex="-1">${body}</main>
  </div>`;
}
