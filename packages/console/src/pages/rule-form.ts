// Adds a rule to a resource. The messages are the API's own, shown next to
// the field they name (the API says `rule.dst_port`; the form's field is dst_port).
import { useState } from 'preact/hooks';
import { ApiError, api } from '../api.js';
import { ErrorText, html } from '../ui.js';

const protocols = [
  ['6', 'tcp'],
  ['17', 'udp'],
  ['1', 'icmp'],
  ['-1', 'any'],
] as const;

export function RuleForm({ path, onAdded }: { path: string; onAdded: () => void }) {
  const [f, setF] = useState({ name: '', direction: 'INBOUND', protocol: '6', dst_port: '', tags: '' });
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const field =
    error instanceof ApiError ? error.field?.replace(/^rule\./, '').replace(/\[\d+\]$/, '') : undefined;
  const set = (k: keyof typeof f) => (e: any) => setF({ ...f, [k]: e.currentTarget.value });
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const port = f.dst_port.trim();
    try {
      await api('POST', `${path}/rules`, {
        name: f.name.trim(),
        direction: f.direction,
        protocol: Number(f.protocol),
        // Sent as typed: the API checks the range and names the field.
        dst_port: port === '' || port === 'any' ? -1 : Number(port),
        tags: f.tags
          .split(/[\s,]+/)
          .map((t) => t.trim())
          .filter(Boolean),
      });
      setF({ ...f, name: '', dst_port: '', tags: '' });
      onAdded();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const msg = (k: string) =>
    field === k
      ? html`<span class="field-error" id=${`err-${k}`} role="alert">${(error as Error).message}</span>`
      : null;
  const attrs = (k: string) => ({
    id: `rule-${k}`,
    'aria-invalid': field === k ? 'true' : undefined,
    'aria-describedby': field === k ? `err-${k}` : undefined,
  });
  return html`<form class="rule-form" onSubmit=${submit} aria-label="add a rule">
    <div><label for="rule-name">Name</label><input ...${attrs('name')} value=${f.name} onInput=${set('name')} placeholder="http-in" />${msg('name')}</div>
    <div><label for="rule-direction">Direction</label>
      <select ...${attrs('direction')} value=${f.direction} onChange=${set('direction')}>
        <option value="INBOUND">inbound</option><option value="OUTBOUND">outbound</option>
      </select>${msg('direction')}</div>
    <div><label for="rule-protocol">Protocol</label>
      <select ...${attrs('protocol')} value=${f.protocol} onChange=${set('protocol')}>
        ${protocols.map(([v, t]) => html`<option value=${v}>${t}</option>`)}
      </select>${msg('protocol')}</div>
    <div><label for="rule-dst_port">Port</label><input ...${attrs('dst_port')} value=${f.dst_port} onInput=${set('dst_port')} placeholder="80 (empty: any)" inputmode="numeric" />${msg('dst_port')}</div>
    <div class="wide"><label for="rule-tags">Tags or CIDRs</label><input ...${attrs('tags')} value=${f.tags} onInput=${set('tags')} placeholder="app, 10.2.0.0/16" />${msg('tags')}</div>
    <div><button type="submit" disabled=${busy}>Add rule</button></div>
    ${error && !field ? html`<${ErrorText} error=${error} />` : null}
  </form>`;
}
