import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AgentRegistry } from '@skyway/tunnel';
import Fastify from 'fastify';
import { parse } from 'yaml';
import { Revocations, registryBackend } from '../auth/revocations.js';
import { TokenService } from '../auth/tokens.js';
import { CertificateAuthority } from '../ca/ca.js';
import { MemoryCaKeyStore, MemoryCredentialRegistry } from '../ca/store.js';
import { installAuth } from '../http/auth.js';
import { handleError } from '../http/errors.js';
import { makeAgentRoutes } from './routes.js';

async function setup() {
  const registry = new MemoryCredentialRegistry();
  const revocations = await Revocations.open([registryBackend(registry)]);
  const tokens = await TokenService.open({ revocations });
  const ca = await CertificateAuthority.open({ store: new MemoryCaKeyStore(), registry });
  const endpoint = {
    agents: new AgentRegistry(),
    urls: { tunnel: 'ctl.example:7443', service: 'https://ctl.example:7444', serverName: 'ctl.example' },
  };
  const app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
  app.setErrorHandler(handleError);
  installAuth(app, tokens);
  await app.register(makeAgentRoutes({ endpoint, ca, tokens, registry, revocations }), { prefix: '/api/v1' });
  const tok = async (role: 'viewer' | 'operator' | 'admin') =>
    (await tokens.issue({ subject: role, scope: { kind: 'api', role, namespaces: ['*'] }, ttlMs: 60_000 }))
      .token;
  return { app, registry, ca, tok };
}

test('agents list, bundle, kubeconfig, service credentials and revocation', async () => {
  const { app, registry, tok } = await setup();
  const admin = { authorization: `Bearer ${await tok('admin')}` };
  const viewer = { authorization: `Bearer ${await tok('viewer')}` };
  const list = await app.inject({ method: 'GET', url: '/api/v1/agents', headers: viewer });
  assert.equal(list.statusCode, 200);
  assert.deepEqual(list.json(), { agents: [] });

  const denied = await app.inject({
    method: 'POST',
    url: '/api/v1/agents/edge-1/enrollment-bundle',
    headers: viewer,
    payload: {},
  });
  assert.equal(denied.statusCode, 403);

  const bundle = await app.inject({
    method: 'POST',
    url: '/api/v1/agents/edge-1/enrollment-bundle',
    headers: admin,
    payload: { ttl: '10m' },
  });
  assert.equal(bundle.statusCode, 200);
  assert.equal(bundle.json().controller, 'ctl.example:7443');
  assert.match(bundle.json().ca, /BEGIN CERTIFICATE/);

  const kc = await app.inject({
    method: 'POST',
    url: '/api/v1/agents/edge-1/kubeconfig',
    headers: admin,
    payload: { service: 'prod', ttl: '1h' },
  });
  assert.equal(kc.statusCode, 200);
  const cfg = parse(kc.json().kubeconfig);
  assert.equal(cfg.clusters[0].cluster.server, 'https://ctl.example:7444');

  const bad = await app.inject({
    method: 'POST',
    url: '/api/v1/agents/edge-1/service-credentials',
    headers: admin,
    payload: { serviceType: 'ftp', serviceName: 'x' },
  });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.field, 'serviceType');

  const sc = await app.inject({
    method: 'POST',
    url: '/api/v1/agents/edge-1/service-credentials',
    headers: admin,
    payload: { serviceType: 'x-api', serviceName: 'x', ttl: '1h' },
  });
  assert.equal(sc.statusCode, 200);
  const rv = await app.inject({
    method: 'POST',
    url: '/api/v1/ca/revocations',
    headers: admin,
    payload: { id: sc.json().id },
  });
  assert.equal(rv.statusCode, 200);
  assert.equal(await registry.isRevoked(sc.json().id), true);
  const issued = await app.inject({ method: 'GET', url: '/api/v1/ca/issued', headers: admin });
  assert.ok(!issued.body.includes(sc.json().token), 'tokens are never listed');
});
