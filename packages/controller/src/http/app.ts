// Builds the REST API: error mapping, authentication, OpenAPI at /docs, and
// each API area as its own plugin. `inject()` tests it without a port.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { TokenService } from '../auth/tokens.js';
import { sccRoutes } from '../overlay/routes.js';
import type { OverlayService } from '../overlay/service.js';
import { installAccess, publicRoute } from './access.js';
import { installCertificateAuth } from './auth.js';
import type { Services } from './context.js';
import { handleError } from './errors.js';
import { namespaceRoutes, nativeRoutes } from './routes/native.js';
import { resourceRoutes } from './routes/resources.js';
import { tagRoutes } from './routes/tags.js';

export interface AppOptions {
  services: Services;
  tokens: TokenService;
  /** A pino logger; none logs nothing. */
  logger?: FastifyBaseLogger;
  /** Extra API areas (e.g. the agent tunnel's control API), registered under /api/v1. */
  extraRoutes?: Array<(app: FastifyInstance) => Promise<void>>;
  /** Hooks that run before authentication (the console's session cookie becomes a bearer token). */
  beforeAuth?: (app: FastifyInstance) => void;
  /** Serve HTTPS with this certificate, and take control client certificates from this CA (mTLS). */
  tls?: { certPem: string; keyPem: string; caPem: string; revoked: (serial: string) => boolean };
  /** The overlay service: its SCC-compatible API is served under /scc/v1. */
  overlays?: OverlayService;
}

/** Log redaction: secrets never reach the log. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  '*.token',
  '*.shared_key',
  '*.sharedKey',
  '*.password',
  '*.secret',
];

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    bodyLimit: 10 * 1024 * 1024,
    ...(opts.tls
      ? {
          https: {
            cert: opts.tls.certPem,
            key: opts.tls.keyPem,
            ca: opts.tls.caPem,
            requestCert: true,
            rejectUnauthorized: false, // a bearer token still works without a certificate
            minVersion: 'TLSv1.2' as const,
          },
        }
      : {}),
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((req, reply) => {
    reply
      .status(404)
      .send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });
  opts.beforeAuth?.(app);
  if (opts.tls) installCertificateAuth(app, opts.tls.revoked);
  // Before any route, so that every route (the docs' too) passes its check.
  installAccess(app, (token) => opts.tokens.verify(token));
  await app.register(swagger, {
    openapi: {
      info: { title: 'Skyway API', version: '0.1.0', description: 'Skyway control plane REST API' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/ping', { config: publicRoute, schema: { hide: true } }, async () => ({ message: 'pong' }));
  app.get('/healthz', { config: publicRoute, schema: { hide: true } }, async () => ({ status: 'ok' }));

  const services = opts.services;
  // Paraglider's wire format is served by http/paraglider on a listener of its own.
  await app.register(resourceRoutes, { prefix: '/api/v1', services });
  await app.register(tagRoutes, { prefix: '/api/v1', services });
  await app.register(namespaceRoutes, { prefix: '/api/v1', services });
  await app.register(nativeRoutes, { prefix: '/api/v1', services });
  for (const extra of opts.extraRoutes ?? []) await app.register(extra, { prefix: '/api/v1' });
  if (opts.overlays) await app.register(sccRoutes, { prefix: '/scc/v1', overlays: opts.overlays });
  return app;
}
