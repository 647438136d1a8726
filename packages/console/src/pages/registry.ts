// The plugin registry: every descriptor the controller knows, searchable.
import { useState } from 'preact/hooks';
import { api, enc } from '../api.js';
import { html, Loading, Section, Table, useData } from '../ui.js';

export function Registry() {
  const [q, setQ] = useState('');
  const [query, setQuery] = useState('');
  const data = useData(() => api('GET', `/api/v1/registry${query ? `?q=${enc(query)}` : ''}`), [query]);
  return html`<div>
    <h1>Plugin registry</h1>
    <form
      class="filters"
      role="search"
      onSubmit=${(e: Event) => {
        e.preventDefault();
        setQuery(q.trim());
      }}
    >
      <label>Search <input type="search" value=${q} onInput=${(e: any) => setQ(e.currentTarget.value)} placeholder="ipsec, vpn, local…" /></label>
      <button type="submit">Search</button>
    </form>
    <${Loading} data=${data} />
    ${
      data.value
        ? html`<${Section} title=${`${data.value.plugins.length} plugin version(s)`}>
          <${Table}
            cols=${['name', 'version', 'versions', 'summary', 'runtime', 'capabilities', 'clouds']}
            rows=${data.value.plugins.map((p: any) => [
              p.name,
              p.version,
              (p.versions ?? []).join(', '),
              p.summary ?? '',
              p.runtime ?? '',
              (p.capabilities ?? []).join(', '),
              (p.clouds ?? [])
                .map((c: any) => (typeof c === 'string' ? c : `${c.namespace}/${c.cloud}`))
                .join(', '),
            ])}
          />
        <//>`
        : null
    }
  </div>`;
}
