// The drift report: the last check, and a check (with repair, or report only).
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorText, html, Loading, Section, Table, useData } from '../ui.js';

const describe = (d: any) => {
  if (d.kind === 'resource_missing') return 'gone from the cloud (not re-created)';
  if (d.kind === 'resource_unmanaged') return 'in the cloud, not in Skyway';
  return [
    d.unfiltered ? 'NOT FILTERED (default deny gone)' : '',
    d.missing?.length ? `missing ${d.missing.join(', ')}` : '',
    d.changed?.length ? `changed ${d.changed.join(', ')}` : '',
    d.extra?.length ? `extra ${d.extra.join(', ')}` : '',
    ...(d.deviations ?? []),
  ]
    .filter(Boolean)
    .join('; ');
};

export function Drift({ canWrite }: { canWrite: boolean }) {
  const data = useData(() => api('GET', '/api/v1/drift'));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const check = async (repair: boolean) => {
    setBusy(true);
    setError(undefined);
    try {
      await api('POST', '/api/v1/drift/check', { repair });
      data.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const last = data.value?.last;
  return html`<div>
    <h1>Drift</h1>
    ${
      canWrite
        ? html`<p class="actions">
          <button onClick=${() => check(true)} disabled=${busy}>Check and repair</button>
          <button onClick=${() => check(false)} disabled=${busy}>Check, report only</button>
        </p>`
        : null
    }
    <${ErrorText} error=${error} />
    <${Loading} data=${data} />
    ${last === null ? html`<p class="muted">No drift check yet.</p>` : null}
    ${
      last
        ? html`<${Section} title=${`Last check ${last.started_at} (${last.duration_ms} ms${last.repair ? '' : ', report only'})`}>
          <p>${last.resources} resource(s) in ${last.clouds} cloud(s): ${last.drift.length ? `${last.drift.length} drift item(s)` : 'no drift: every cloud matches the store'}</p>
          <${Table}
            cols=${['resource', 'drift', 'repaired']}
            rows=${last.drift.map((d: any) => [`${d.namespace}/${d.cloud}/${d.resource}`, describe(d), d.repaired ? 'yes' : 'no'])}
            empty=""
          />
          ${last.errors.map((e: any) => html`<p class="error">could not check ${e.namespace}/${e.cloud}${e.resource ? `/${e.resource}` : ''}: ${e.message}</p>`)}
        <//>`
        : null
    }
  </div>`;
}
