// The console's sign-in over the real app: a login code is single use and
// becomes an HttpOnly, SameSite=Strict session cookie that carries the token's
// role; a cookie write needs the console header; a pasted token works too.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Harness, startHarness } from '../testing/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const inject = (method: string, url: string, headers: Record<string, string> = {}, payload?: object) =>
  h.app.inject({ method: method as 'GET', url, headers, ...(payload ? { payload } : {}) });

const cookieOf = (res: { headers: Record<string, unknown> }) =>
  String(res.headers['set-cookie']).split(';')[0]!;

test('a login code signs in once, as the token that asked for it', async () => {
  const viewer = await h.call('POST', '/api/v1/tokens', {
    subject: 'ann',
    role: 'viewer',
    namespaces: ['default'],
  });
  assert.ok(viewer.json.token, JSON.stringify(viewer.json));
  const code = await inject('POST', '/api/v1/ui/login-codes', {
    authorization: `Bearer ${viewer.json.token}`,
  });
  assert.equal(code.statusCode, 200);
  assert.match(code.json().path, /^\/ui\/#code=/);

  const signed = await inject('POST', '/api/v1/ui/session', {}, { code: code.json().code });
  assert.equal(signed.statusCode, 200);
  assert.deepEqual(signed.json(), { subject: 'ann', role: 'viewer', namespaces: ['default'] });
  const setCookie = String(signed.headers['set-cookie']);
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);
  assert.ok(!setCookie.includes(viewer.json.token), 'the cookie is a session id, not the token');

  const again = await inject('POST', '/api/v1/ui/session', {}, { code: code.json().code });
  assert.equal(again.statusCode, 401);
  assert.equal(again.json().error.code, 'UNAUTHENTICATED');

  const cookie = cookieOf(signed);
  const me = await inject('GET', '/api/v1/ui/session', { cookie });
  assert.equal(me.json().role, 'viewer');
  assert.equal((await inject('GET', '/api/v1/resources', { cookie })).statusCode, 200);
  // A viewer's write is refused by the API, console or not.
  const write = await inject(
    'POST',
    '/api/v1/namespaces/default/clouds/east/resources',
    { cookie, 'x-skyway-console': '1' },
    { name: 'vm-x', description: '{}' },
  );
  assert.equal(write.statusCode, 403);

  const out = await inject('DELETE', '/api/v1/ui/session', { cookie, 'x-skyway-console': '1' });
  assert.equal(out.statusCode, 200);
  assert.equal((await inject('GET', '/api/v1/ui/session', { cookie })).statusCode, 401);
});

test('a pasted token signs in; a cookie write without the console header is refused', async () => {
  const signed = await inject('POST', '/api/v1/ui/session', {}, { token: h.adminToken });
  assert.equal(signed.json().role, 'admin');
  const cookie = cookieOf(signed);
  const body = { name: 'vm-c', description: '{}' };
  const url = '/api/v1/namespaces/default/clouds/east/resources';
  const forged = await inject('POST', url, { cookie }, body);
  assert.equal(forged.statusCode, 401);
  assert.match(forged.json().error.message, /x-skyway-console/);
  assert.equal((await inject('POST', url, { cookie, 'x-skyway-console': '1' }, body)).statusCode, 201);

  const bad = await inject('POST', '/api/v1/ui/session', {}, { token: 'not-a-token' });
  assert.equal(bad.statusCode, 401);
  const none = await inject('POST', '/api/v1/ui/session', {}, {});
  assert.equal(none.statusCode, 400);
  assert.equal(none.json().error.field, 'code');
});

test('/ui serves the built console (or says it is not built) without a token', async () => {
  const res = await inject('GET', '/ui/');
  assert.ok([200, 503].includes(res.statusCode), String(res.statusCode));
  if (res.statusCode === 200) {
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(res.body, /<div id="app">/);
    assert.equal((await inject('GET', '/ui/assets/nope.js')).statusCode, 404);
    // Client-side routes answer with the page.
    assert.equal((await inject('GET', '/ui/topology')).statusCode, 200);
  }
  assert.equal((await inject('GET', '/ui')).statusCode, 302);
});
