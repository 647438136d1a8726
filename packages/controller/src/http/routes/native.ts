// Skyway's own API areas under /api/v1: namespaces, resources across clouds,
// connections, events (server-sent), tokens and plugins.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { PollReport } from '../../services/poller.js';
import { resourceView } from '../../services/resources.js';
import { allow, visibleNamespaces } from '../access.js';
import type { Services } from '../context.js';
import { CloudParams, PluginParams, RegistryQuery, TokenBody, VersionQuery } from '../schemas.js';
import { eventRoutes } from './events.js';

export const namespaceRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (
  app,
  { services },
) => {
  app.get(
    '/namespaces',
    { config: allow('viewer', 'filter'), schema: { tags: ['namespaces'] } },
    async (req) => {
      const visible = visibleNamespaces(req);
      const names = services.plugins.namespaces().filter((n) => !visible || visible.includes(n));
      return {
        namespaces: names.map((n) => ({
          name: n,
          clouds: services.plugins
            .cloudsOf(n)
            .map((c) => ({ name: c.cloud, plugin: c.plugin, deployment: c.deployment })),
        })),
      };
    },
  );
};

export const nativeRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { connectivity, access, plugins, resources, poller, registry } = services;

  app.get(
    '/resources',
    {
      config: allow('viewer', 'query.namespace'),
      schema: {
        tags: ['resources'],
        querystring: Type.Object(
          { namespace: Type.Optional(Type.String()), cloud: Type.Optional(Type.String()) },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const visible = visibleNamespaces(req);
      const rows = await resources.list(req.query);
      return {
        resources: rows.filter((r) => !visible || visible.includes(r.namespace)).map(resourceView),
      };
    },
  );

  app.get(
    '/connections',
    { config: allow('viewer', 'filter'), schema: { tags: ['connections'] } },
    async (req) => {
      const visible = visibleNamespaces(req);
      return {
        connections: (await connectivity.list()).filter((c) => !visible || visible.includes(c.namespace)),
      };
    },
  );

  app.delete(
    '/connections/:namespace/:cloudA/:cloudB',
    {
      config: allow('operator', 'params.namespace'),
      schema: {
        tags: ['connections'],
        params: Type.Object({ namespace: Type.String(), cloudA: Type.String(), cloudB: Type.String() }),
      },
    },
    async (req) => {
      await connectivity.delete(req.params.namespace, req.params.cloudA, req.params.cloudB);
      return {};
    },
  );

  await app.register(eventRoutes, { services });

  app.get('/tokens', { config: allow('admin', 'all'), schema: { tags: ['tokens'] } }, async () => {
    const rows = await access.list();
    return {
      tokens: rows.map((t) => ({
        id: t.id,
        subject: t.subject,
        scope: t.scope,
        issued_at: t.issuedAt,
        expires_at: t.expiresAt,
        revoked: !!t.revokedAt,
      })),
    };
  });

  app.post(
    '/tokens',
    { config: allow('admin', 'all'), schema: { tags: ['tokens'], body: TokenBody } },
    async (req, reply) => {
      reply.status(201);
      return access.create({ ...req.body, ttl: req.body.ttl ?? '30d' });
    },
  );

  app.delete(
    '/tokens/:id',
    {
      config: allow('admin', 'all'),
      schema: { tags: ['tokens'], params: Type.Object({ id: Type.String() }) },
    },
    async (req) => {
      await access.revoke(req.params.id);
      return {};
    },
  );

  app.get('/plugins', { config: allow('viewer', 'filter'), schema: { tags: ['plugins'] } }, async (req) => {
    const visible = visibleNamespaces(req);
    return {
      plugins: plugins
        .all()
        .filter((b) => !visible || visible.includes(b.namespace))
        .map((b) => ({
          namespace: b.namespace,
          cloud: b.cloud,
          plugin: b.plugin,
          deployment: b.deployment,
          version: b.descriptor?.version,
          runtime: b.descriptor?.runtime ?? 'in-process',
        })),
    };
  });

  /** The clouds a plugin serves (`namespace/cloud`), of those the caller may see. */
  const cloudsServedBy = (req: FastifyRequest, name: string) => {
    const visible = visibleNamespaces(req);
    return plugins
      .all()
      .filter((b) => b.plugin === name && (!visible || visible.includes(b.namespace)))
      .map((b) => `${b.namespace}/${b.cloud}`);
  };

  app.get(
    '/registry',
    {
      config: allow('viewer', 'filter'),
      schema: {
        tags: ['plugins'],
        description:
          'The plugins this controller knows (built in, and the descriptors its config names), best match first; each once, as its latest version.',
        querystring: RegistryQuery,
      },
    },
    async (req) => {
      const { q, category, tag } = req.query;
      const hits = registry.search({
        ...(q === undefined ? {} : { text: q }),
        ...(category === undefined ? {} : { category }),
        ...(tag === undefined ? {} : { tag }),
      });
      return {
        plugins: hits.map(({ descriptor: d, versions }) => ({
          name: d.name,
          version: d.version,
          versions,
          summary: d.summary,
          maintainer: d.maintainer,
          categories: d.categories,
          tags: d.tags,
          runtime: d.runtime,
          capabilities: d.capabilities,
          clouds: cloudsServedBy(req, d.name),
        })),
      };
    },
  );

  app.get(
    '/registry/:name',
    {
      config: allow('viewer', 'filter'),
      schema: {
        tags: ['plugins'],
        description: "One plugin's descriptor: the latest version, or the one asked for.",
        params: PluginParams,
        querystring: VersionQuery,
      },
    },
    async (req) => {
      // Where the descriptor file lies on the controller's host is nobody else's business.
      const { source: _, ...descriptor } = registry.get(req.params.name, req.query.version);
      return {
        ...descriptor,
        versions: registry.versions(descriptor.name),
        clouds: cloudsServedBy(req, descriptor.name),
      };
    },
  );

  app.get(
    '/plugins/:namespace/:cloud',
    { config: allow('viewer', 'params.namespace'), schema: { tags: ['plugins'], params: CloudParams } },
    async (req) => {
      const b = plugins.get(req.params.namespace, req.params.cloud);
      const [describe, credentials] = await Promise.all([
        plugins.call(b, 'could not describe itself', (c) => c.describe({})),
        plugins.call(b, 'could not check its credentials', (c) =>
          c.checkCredentials({ deployment: { id: b.deployment, namespace: b.namespace } }),
        ),
      ]);
      return {
        namespace: b.namespace,
        cloud: b.cloud,
        plugin: b.plugin,
        name: describe.name,
        version: describe.version,
        capabilities: describe.capabilities,
        clock_offset_ms: Number(describe.nowUnixMs) - Date.now(),
        credentials: { ok: credentials.ok, message: credentials.message },
        descriptor: b.descriptor,
      };
    },
  );

  const driftView = (req: FastifyRequest, report: PollReport | undefined) => {
    const visible = visibleNamespaces(req);
    if (!report || !visible) return report;
    return { ...report, drift: report.drift.filter((d) => visible.includes(d.namespace)) };
  };

  app.get(
    '/drift',
    {
      config: allow('viewer', 'filter'),
      schema: {
        tags: ['drift'],
        description:
          'The last drift check: what the clouds had that differed from the store, and what was repaired.',
      },
    },
    async (req) => {
      return { last: driftView(req, poller.last) ?? null };
    },
  );

  app.post(
    '/drift/check',
    {
      config: allow('operator', 'all'),
      schema: {
        tags: ['drift'],
        description: 'Checks every cloud now; repairs drift unless `repair` is false.',
        body: Type.Optional(
          Type.Object({ repair: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        ),
      },
    },
    async (req) => {
      return poller.poll({ repair: req.body?.repair });
    },
  );
};
