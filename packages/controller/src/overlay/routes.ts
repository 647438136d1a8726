// The SCC REST API under /scc/v1 (scc_apis.yaml): overlays and their
// proposals, hubs, ip ranges, devices, certificates, hub-device connections
// and connection objects, and the provider's ip ranges. Its own error handler
// answers as SCC does where SCC is right (empty body 400, invalid 422,
// duplicate 409) and with 404/409 where SCC answers 500 (see docs/overlays.md).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import { type ErrorKind, isSkywayError } from '@skyway/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { allow, GLOBAL, visibleNamespaces } from '../http/access.js';
import { errorBody, handleError, statusOfKind } from '../http/errors.js';
import { kinds, type SccKind } from './kinds.js';
import { HubDeviceBody, objectBody, specs } from './schemas.js';
import type { OverlayService } from './service.js';
import type { SccBody } from './validate.js';

const sccStatus: Partial<Record<ErrorKind, number>> = { InvalidArgument: 422, FailedPrecondition: 409 };

function sccErrors(err: unknown, req: FastifyRequest, reply: FastifyReply) {
  if (isSkywayError(err)) {
    const status = sccStatus[err.kind] ?? statusOfKind[err.kind];
    return reply.status(status).send(errorBody(err.code, err.message, err.field));
  }
  const fe = err as FastifyError & { validation?: unknown[] };
  if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || fe.code === 'EMPTY_BODY') {
    return reply.status(400).send(errorBody('EMPTY_BODY', 'the request needs a JSON body'));
  }
  if (
    fe.validation ||
    (fe.statusCode === 400 && fe instanceof SyntaxError) ||
    fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY'
  ) {
    // The catalog's handler names the field; SCC answers invalid input with 422.
    const proxy = {
      ...reply,
      status: (s: number) => reply.status(s === 400 ? 422 : s),
    } as unknown as FastifyReply;
    if (!fe.validation)
      return reply.status(422).send(errorBody('VALIDATION_FAILED', `the body is not JSON: ${fe.message}`));
    return handleError(err, req, proxy);
  }
  return handleError(err, req, reply);
}

const emptyBody = Object.assign(new Error('the request needs a JSON body'), {
  code: 'EMPTY_BODY',
  statusCode: 400,
});

export interface SccRoutesOptions {
  overlays: OverlayService;
}

const O = Type.Object({ overlay: Type.String() });
const ON = Type.Object({ overlay: Type.String(), name: Type.String() });
const N = Type.Object({ name: Type.String() });

export const sccRoutes: FastifyPluginAsyncTypebox<SccRoutesOptions> = async (app, { overlays }) => {
  app.setErrorHandler(sccErrors);
  app.addHook('preValidation', async (req) => {
    const wantsBody = (req.method === 'POST' || req.method === 'PUT') && req.routeOptions.schema?.body;
    if (wantsBody && (req.body === undefined || req.body === null)) throw emptyBody;
  });

  /** The overlay's namespace is what a token must be scoped to. */
  const inOverlay = async (req: FastifyRequest) => [
    (await overlays.overlayRow((req.params as { overlay: string }).overlay)).namespace,
  ];
  const reads = allow('viewer', inOverlay);
  const writes = allow('operator', inOverlay);
  /** A new overlay's namespace: ?namespace=, else the token's own (its first), else default. */
  const newOverlay = (req: FastifyRequest) => [namespaceFor(req)];
  const namespaceFor = (req: FastifyRequest) =>
    (req.query as { namespace?: string }).namespace ?? visibleNamespaces(req)?.[0] ?? 'default';
  const created = (reply: FastifyReply, body: unknown) => reply.status(201).send(body);
  const gone = (reply: FastifyReply) => reply.status(204).send();
  const notAllowed = async (req: FastifyRequest, reply: FastifyReply) =>
    reply
      .status(405)
      .send(
        errorBody(
          'METHOD_NOT_ALLOWED',
          `${req.method} is not allowed on ${req.url.split('?')[0]} (SCC has no update for it)`,
        ),
      );

  // ---- overlays ----
  const tags = (t: string) => ({ tags: [`scc ${t}`] });
  app.post(
    '/overlays',
    {
      config: allow('operator', newOverlay),
      schema: {
        ...tags('overlays'),
        body: objectBody(specs.overlay, false),
        querystring: Type.Object({ namespace: Type.Optional(Type.String()) }),
      },
    },
    async (req, reply) => {
      return created(reply, await overlays.create('overlay', '', req.body as SccBody, namespaceFor(req)));
    },
  );
  app.get('/overlays', { config: allow('viewer', 'filter'), schema: tags('overlays') }, async (req) => {
    const visible = visibleNamespaces(req);
    const rows = await overlays.objects.list('overlay');
    const ok = new Set(rows.filter((r) => !visible || visible.includes(r.namespace)).map((r) => r.name));
    return (await overlays.list('overlay', '')).filter((o) => ok.has(o.metadata.name));
  });
  app.get(
    '/overlays/:overlay',
    { config: reads, schema: { ...tags('overlays'), params: O } },
    async (req) => {
      return overlays.get('overlay', '', req.params.overlay);
    },
  );
  app.put(
    '/overlays/:overlay',
    { config: writes, schema: { ...tags('overlays'), params: O, body: objectBody(specs.overlay, false) } },
    async (req) => {
      return overlays.update('overlay', '', req.params.overlay, req.body as SccBody);
    },
  );
  app.delete(
    '/overlays/:overlay',
    { config: writes, schema: { ...tags('overlays'), params: O } },
    async (req, reply) => {
      await overlays.remove('overlay', '', req.params.overlay);
      return gone(reply);
    },
  );

  // ---- objects of an overlay ----
  const children: SccKind[] = ['proposal', 'hub', 'iprange', 'device', 'certificate'];
  for (const kind of children) {
    const info = kinds[kind];
    const path = `/overlays/:overlay/${info.collection}`;
    const body = objectBody(specs[kind as keyof typeof specs], kind !== 'certificate');
    app.post(
      path,
      { config: writes, schema: { ...tags(info.collection), params: O, body } },
      async (req, reply) => {
        return created(reply, await overlays.create(kind, req.params.overlay, req.body as never));
      },
    );
    app.get(path, { config: reads, schema: { ...tags(info.collection), params: O } }, async (req) => {
      return overlays.list(kind, req.params.overlay);
    });
    app.get(
      `${path}/:name`,
      { config: reads, schema: { ...tags(info.collection), params: ON } },
      async (req) => {
        return overlays.get(kind, req.params.overlay, req.params.name);
      },
    );
    if (info.put) {
      app.put(
        `${path}/:name`,
        { config: writes, schema: { ...tags(info.collection), params: ON, body } },
        async (req) => {
          return overlays.update(kind, req.params.overlay, req.params.name, req.body as never);
        },
      );
    } else {
      app.put(
        `${path}/:name`,
        { config: reads, schema: { ...tags(info.collection), params: ON } },
        notAllowed,
      );
    }
    app.delete(
      `${path}/:name`,
      { config: writes, schema: { ...tags(info.collection), params: ON } },
      async (req, reply) => {
        await overlays.remove(kind, req.params.overlay, req.params.name);
        return gone(reply);
      },
    );
  }

  // ---- hub-device connections and connection objects ----
  const HD = Type.Object({ overlay: Type.String(), hub: Type.String() });
  app.post(
    '/overlays/:overlay/hubs/:hub/devices',
    { config: writes, schema: { ...tags('hub-device connections'), params: HD, body: HubDeviceBody } },
    async (req, reply) => {
      const spec = req.body.spec ?? { device: req.body.device, isDelegateHub: req.body.isDelegateHub };
      if (!spec.device) {
        return reply
          .status(422)
          .send(
            errorBody('VALIDATION_FAILED', 'spec.device is required: the device to connect', 'spec.device'),
          );
      }
      const metadata = Object.fromEntries(
        Object.entries(req.body.metadata ?? {}).filter(([, v]) => typeof v === 'string'),
      );
      return created(
        reply,
        await overlays.connect(
          req.params.overlay,
          req.params.hub,
          { device: spec.device, isDelegateHub: spec.isDelegateHub === true },
          metadata,
        ),
      );
    },
  );
  const HDD = Type.Object({ overlay: Type.String(), hub: Type.String(), device: Type.String() });
  app.delete(
    '/overlays/:overlay/hubs/:hub/devices/:device',
    { config: writes, schema: { ...tags('hub-device connections'), params: HDD } },
    async (req, reply) => {
      await overlays.disconnect(req.params.overlay, req.params.hub, req.params.device);
      return gone(reply);
    },
  );
  app.get(
    '/overlays/:overlay/hubs/:hub/devices/:device',
    { config: reads, schema: { hide: true } },
    notAllowed,
  );
  app.get(
    '/overlays/:overlay/hubs/:hub/connections',
    { config: reads, schema: { ...tags('connections'), params: HD } },
    async (req) => {
      return overlays.connections(req.params.overlay, { type: 'Hub', name: req.params.hub });
    },
  );
  const DC = Type.Object({ overlay: Type.String(), device: Type.String() });
  app.get(
    '/overlays/:overlay/devices/:device/connections',
    { config: reads, schema: { ...tags('connections'), params: DC } },
    async (req) => {
      return overlays.connections(req.params.overlay, { type: 'Device', name: req.params.device });
    },
  );

  // Skyway's addition: rotate the overlay's CA (make-before-break; SCC never rotates).
  app.post(
    '/overlays/:overlay/ca/rotate',
    { config: writes, schema: { ...tags('overlays'), params: O } },
    async (req) => {
      return overlays.rotateCa(req.params.overlay);
    },
  );

  // ---- the provider's ip ranges (no overlay may overlap them) ----
  const pBody = objectBody(specs.iprange, true);
  app.post(
    '/provider/ipranges',
    { config: allow('admin', () => [GLOBAL]), schema: { ...tags('provider ipranges'), body: pBody } },
    async (req, reply) => {
      return created(reply, await overlays.create('provider-iprange', '', req.body as SccBody));
    },
  );
  app.get(
    '/provider/ipranges',
    { config: allow('viewer', 'none'), schema: tags('provider ipranges') },
    async () => {
      return overlays.list('provider-iprange', '');
    },
  );
  app.get(
    '/provider/ipranges/:name',
    { config: allow('viewer', 'none'), schema: { ...tags('provider ipranges'), params: N } },
    async (req) => {
      return overlays.get('provider-iprange', '', req.params.name);
    },
  );
  app.put(
    '/provider/ipranges/:name',
    { config: allow('viewer', 'none'), schema: { ...tags('provider ipranges'), params: N } },
    notAllowed,
  );
  app.delete(
    '/provider/ipranges/:name',
    { config: allow('admin', () => [GLOBAL]), schema: { ...tags('provider ipranges'), params: N } },
    async (req, reply) => {
      await overlays.remove('provider-iprange', '', req.params.name);
      return gone(reply);
    },
  );
};
