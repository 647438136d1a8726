// Live events (server-sent events from /api/v1/events, the cookie
// authenticating), newest first, filtered by type and subject.
import { useEffect, useState } from 'preact/hooks';
import { html, Section, Table } from '../ui.js';

interface Ev {
  id: number;
  time: string;
  type: string;
  subject: string;
  data: unknown;
}

const eventTypes = [
  'resource.created',
  'resource.deleted',
  'rules.applied',
  'rules.deleted',
  'tag.updated',
  'tag.deleted',
  'connection.created',
  'connection.deleted',
  'token.created',
  'token.revoked',
  'drift.detected',
  'drift.repaired',
  'operation.started',
  'operation.succeeded',
  'operation.failed',
  'overlay.created',
  'overlay.deleted',
];

export function Events() {
  const [events, setEvents] = useState<Ev[]>([]);
  const [state, setState] = useState('connecting');
  const [type, setType] = useState('');
  const [subject, setSubject] = useState('');
  useEffect(() => {
    // Live from now on (history: `skyway events --since 0`).
    const source = new EventSource('/api/v1/events');
    source.onopen = () => setState('live');
    source.onerror = () => setState('reconnecting');
    const on = (m: MessageEvent) => {
      const e = JSON.parse(m.data) as Ev;
      setEvents((list) => (list.some((x) => x.id === e.id) ? list : [e, ...list].slice(0, 500)));
    };
    // Events are named by their type: each type has its own listener.
    for (const t of eventTypes) source.addEventListener(t, on);
    source.onmessage = on;
    return () => source.close();
  }, []);
  const types = [...new Set(events.map((e) => e.type))].sort();
  const shown = events.filter((e) => (!type || e.type === type) && (!subject || e.subject.includes(subject)));
  return html`<div>
    <h1>Events <span class="muted small" aria-live="polite">(${state})</span></h1>
    <form class="filters" onSubmit=${(e: Event) => e.preventDefault()}>
      <label>Type <select value=${type} onChange=${(e: any) => setType(e.currentTarget.value)}>
        <option value="">all</option>
        ${types.map((t) => html`<option value=${t}>${t}</option>`)}
      </select></label>
      <label>Subject contains <input value=${subject} onInput=${(e: any) => setSubject(e.currentTarget.value)} /></label>
    </form>
    <${Section} title=${`${shown.length} event(s)`}>
      <${Table}
        cols=${['#', 'time', 'type', 'subject', 'data']}
        rows=${shown.map((e) => [e.id, e.time, e.type, e.subject, html`<code class="data">${JSON.stringify(e.data).slice(0, 200)}</code>`])}
        empty="(no events yet)"
      />
    <//>
  </div>`;
}
