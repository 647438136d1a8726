// Credentials: API tokens (admins) and the certificates and service tokens
// the CA issued, each revocable.
import { useState } from 'preact/hooks';
import { api, enc, type Me } from '../api.js';
import { ErrorText, html, Loading, Section, Table, useData } from '../ui.js';

export function Credentials({ me }: { me: Me }) {
  const admin = me.role === 'admin' && me.namespaces.includes('*');
  const tokens = useData(() => (admin ? api('GET', '/api/v1/tokens') : Promise.resolve({ tokens: [] })));
  const issued = useData(() => (admin ? api('GET', '/api/v1/ca/issued') : Promise.resolve({ issued: [] })));
  const [error, setError] = useState<unknown>();
  const revoke = async (what: string, path: string, body?: unknown) => {
    if (!confirm(`Revoke ${what}?`)) return;
    setError(undefined);
    try {
      await api(body === undefined ? 'DELETE' : 'POST', path, body);
      tokens.reload();
      issued.reload();
    } catch (e) {
      setError(e);
    }
  };
  return html`<div>
    <h1>Credentials</h1>
    <${ErrorText} error=${error} />
    ${
      admin
        ? html`<${Section} title="API tokens">
          <${Loading} data=${tokens} />
          <${Table}
            cols=${['subject', 'kind', 'role', 'namespaces', 'expires', 'state', '']}
            rows=${(tokens.value?.tokens ?? []).map((t: any) => [
              t.subject,
              t.scope.kind,
              t.scope.role ?? '',
              (t.scope.namespaces ?? []).join(', '),
              t.expires_at,
              t.revoked ? 'revoked' : 'valid',
              t.revoked
                ? ''
                : html`<button class="danger" onClick=${() => revoke(`the token of ${t.subject}`, `/api/v1/tokens/${enc(t.id)}`)}>Revoke</button>`,
            ])}
          />
        <//>`
        : html`<p class="muted">Only an admin token scoped to all namespaces lists API tokens.</p>`
    }
    ${
      admin
        ? html`<${Section} title="Certificates and service tokens issued by the CA">
      <${Loading} data=${issued} />
      <${Table}
        cols=${['id', 'kind', 'purpose', 'subject', 'issued', 'expires', 'state', '']}
        rows=${(issued.value?.issued ?? []).map((c: any) => [
          html`<code>${c.id.slice(0, 16)}</code>`,
          c.kind,
          c.purpose,
          c.subject,
          c.issuedAt,
          c.expiresAt,
          c.revokedAt ? `revoked ${c.revokedAt}` : 'valid',
          c.revokedAt
            ? ''
            : html`<button class="danger" onClick=${() => revoke(`the ${c.purpose} ${c.kind} of ${c.subject}`, '/api/v1/ca/revocations', { id: c.id })}>Revoke</button>`,
        ])}
      />
    <//>`
        : null
    }
  </div>`;
}
