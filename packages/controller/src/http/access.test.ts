// Every route declares its access once, in its options; an undeclared route
// stops the app from starting, and the hook enforces what is declared.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, startHarness } from '../testing/harness.js';
import { allow } from './access.js';
import { buildApp } from './app.js';

describe('route access declarations', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  const build = (extra: Parameters<typeof buildApp>[0]['extraRoutes']) =>
    buildApp({ services: h.services, tokens: h.tokens, extraRoutes: extra });

  test('an app with a route that declares no access refuses to start, naming the route', async () => {
    await assert.rejects(
      build([
        async (app) => {
          app.get('/forgotten', async () => ({}));
        },
      ]),
      /route GET \/api\/v1\/forgotten declares no access/,
    );
    await assert.rejects(
      build([
        async (app) => {
          app.get(
            '/odd',
            { config: { access: { role: 'root' as never, namespace: 'none' } } },
            async () => ({}),
          );
        },
      ]),
      /GET \/api\/v1\/odd: access.role must be one of/,
    );
    await assert.rejects(
      build([
        async (app) => {
          app.get('/odd', { config: allow('viewer', 'headers.x' as never) }, async () => ({}));
        },
      ]),
      /access.namespace must be/,
    );
  });

  test('the controller starts: every route it serves is declared', async () => {
    const app = await build([
      async (app) => {
        app.get('/declared/:namespace', { config: allow('operator', 'params.namespace') }, async () => ({
          ok: true,
        }));
      },
    ]);
    await app.ready();
    const scoped = async (role: 'viewer' | 'operator', namespaces: string[]) =>
      (await h.tokens.issue({ subject: 't', scope: { kind: 'api', role, namespaces }, ttlMs: 60_000 })).token;
    const get = async (url: string, token?: string) =>
      app.inject({ url, headers: token ? { authorization: `Bearer ${token}` } : {} });
    assert.equal(
      (await get('/api/v1/declared/default', await scoped('operator', ['default']))).statusCode,
      200,
    );
    const other = await get('/api/v1/declared/default', await scoped('operator', ['other']));
    assert.equal(other.statusCode, 403);
    assert.match(other.json().error.message, /namespace "default"/);
    const viewer = await get('/api/v1/declared/default', await scoped('viewer', ['default']));
    assert.equal(viewer.statusCode, 403);
    assert.match(viewer.json().error.message, /operator role/);
    assert.equal((await get('/api/v1/declared/default')).statusCode, 401);
    // Public: health and the docs; unknown paths still need a token.
    assert.equal((await get('/ping')).statusCode, 200);
    assert.equal((await get('/docs/json')).statusCode, 200);
    assert.equal((await get('/no/such/route')).statusCode, 401);
    await app.close();
  });

  test('a service token cannot call the control API', async () => {
    const { token } = await h.tokens.issue({
      subject: 's',
      scope: { kind: 'service', agent: 'a', serviceType: 'x-files', serviceName: 'f' },
      ttlMs: 60_000,
    });
    const res = await h.call('GET', '/api/v1/namespaces', undefined, token);
    assert.equal(res.status, 403);
    assert.match(res.json.error.message, /service token/);
  });
});
