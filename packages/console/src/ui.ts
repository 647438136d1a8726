// Small shared pieces: loading data, tables, errors, badges.
import { html } from 'htm/preact';
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.js';

export { html };

/** Loads `load()` on mount (and on reload()), keeping the last value, error and loading state. */
export function useData<T>(load: () => Promise<T>, deps: unknown[] = []) {
  const [state, setState] = useState<{ value?: T; error?: unknown; loading: boolean }>({ loading: true });
  const reload = useCallback(() => {
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (value) => setState({ value, loading: false }),
      (error) => setState({ error, loading: false }),
    );
  }, deps);
  useEffect(reload, [reload]);
  return { ...state, reload };
}

export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error as Error;
  const text =
    e instanceof ApiError ? `${e.code}: ${e.message}${e.field ? ` (field: ${e.field})` : ''}` : e.message;
  return html`<p class="error" role="alert">${text}</p>`;
}

export function Loading({ data }: { data: { loading: boolean; error?: unknown } }) {
  if (data.error) return html`<${ErrorText} error=${data.error} />`;
  return data.loading ? html`<p class="muted" aria-live="polite">loading…</p>` : null;
}

export function Table({
  cols,
  rows,
  empty = '(none)',
}: {
  cols: string[];
  rows: ComponentChildren[][];
  empty?: string;
}) {
  if (rows.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<table>
    <thead><tr>${cols.map((c) => html`<th scope="col">${c}</th>`)}</tr></thead>
    <tbody>${rows.map((r) => html`<tr>${r.map((c) => html`<td>${c}</td>`)}</tr>`)}</tbody>
  </table>`;
}

export function Badge({ ok, text }: { ok: boolean | undefined; text: string }) {
  return html`<span class=${`badge ${ok === undefined ? '' : ok ? 'ok' : 'bad'}`}>${text}</span>`;
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return html`<section><h2>${title}</h2>${children}</section>`;
}

export const protocolName = (p: number) =>
  ({ [-1]: 'any', 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp' })[p] ?? String(p);
export const portText = (p: number | undefined) => (p === undefined || p === -1 ? 'any' : String(p));
