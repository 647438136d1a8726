// Sign-in: a login code from `skyway ui` (in the URL's #code=, never sent in
// a URL to the server), or a pasted token.
import { useEffect, useState } from 'preact/hooks';
import { api, type Me } from '../api.js';
import { ErrorText, html } from '../ui.js';

export function SignIn({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [error, setError] = useState<unknown>();
  const [token, setToken] = useState('');
  const signIn = (body: { code?: string; token?: string }) =>
    api<Me>('POST', '/api/v1/ui/session', body).then(onSignedIn, setError);
  useEffect(() => {
    const code = /[#&]code=([^&]+)/.exec(location.hash)?.[1];
    if (code) {
      history.replaceState(null, '', `${location.pathname}#/`);
      void signIn({ code: decodeURIComponent(code) });
    }
  }, []);
  return html`<main class="sign-in">
    <h1>Skyway</h1>
    <p>Run <code>skyway ui</code> and open the address it prints, or paste an API token.</p>
    <form
      onSubmit=${(e: Event) => {
        e.preventDefault();
        void signIn({ token: token.trim() });
      }}
    >
      <label for="token">API token</label>
      <textarea id="token" rows="4" value=${token} onInput=${(e: any) => setToken(e.currentTarget.value)} required></textarea>
      <button type="submit">Sign in</button>
    </form>
    <${ErrorText} error=${error} />
  </main>`;
}
