// The Paraglider-compatible API on a listener of its own (loopback or a Unix
// socket, never the /api/v1 listener). glide sends no token and no
// Content-Type, so every request acts as the configured role and namespaces
// and every body is read as JSON.
import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import { failedPrecondition, isSkywayError } from '@skyway/core';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { TokenClaims } from '../../auth/tokens.js';
import type { Services } from '../context.js';
import { statusOfKind } from '../errors.js';
import type { ParagliderConfig } from './config.js';
import { paragliderRoutes } from './routes.js';

export interface ParagliderListener {
  app: FastifyInstance;
  /** http://host:port, or unix:/path. */
  url: string;
  close(): Promise<void>;
}

/** Paraglider's error body is {"error": message}; Skyway adds its stable code and the field. */
const errorBody = (message: string, code: string, field?: string) =>
  field ? { error: message, code, field } : { error: message, code };

export async function buildParagliderApp(opts: {
  services: Services;
  config: ParagliderConfig;
  logger?: FastifyBaseLogger;
}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit: 10 * 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
  });
  // Go's net/http sends no Content-Type: read every body as JSON, whatever it is labelled.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      done(Object.assign(new Error(`the body is not JSON: ${(e as Error).message}`), { statusCode: 400 }));
    }
  });
  const claims: TokenClaims = {
    id: 'paraglider-listener',
    subject: 'paraglider',
    scope: { kind: 'api', role: opts.config.role, namespaces: opts.config.namespaces },
    issuedAt: new Date(0),
    expiresAt: new Date(8.64e15),
  };
  app.addHook('onRequest', async (request) => {
    request.principal = claims;
  });
  app.setErrorHandler((err, request, reply) => {
    if (isSkywayError(err)) {
      return reply.status(statusOfKind[err.kind]).send(errorBody(err.message, err.code, err.field));
    }
    const fe = err as FastifyError;
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      const code = fe.statusCode === 413 ? 'BODY_TOO_LARGE' : 'INVALID_ARGUMENT';
      return reply.status(fe.statusCode).send(errorBody(fe.message, code));
    }
    request.log.error({ err }, 'unhandled error');
    return reply.status(500).send(errorBody('internal error; see the controller log', 'INTERNAL'));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send(errorBody(`no route ${req.method} ${req.url.split('?')[0]}`, 'NOT_FOUND'));
  });
  await app.register(paragliderRoutes, { services: opts.services, waitMs: opts.config.waitMs });
  return app;
}

export async function startParagliderListener(opts: {
  services: Services;
  config: ParagliderConfig;
  logger?: FastifyBaseLogger;
}): Promise<ParagliderListener> {
  const app = await buildParagliderApp(opts);
  const listen = opts.config.listen;
  let url: string;
  try {
    if ('path' in listen) {
      if (existsSync(listen.path)) {
        // A socket left by a killed controller is stale; anything else is not ours to remove.
        if (!lstatSync(listen.path).isSocket())
          throw failedPrecondition(`paraglider.listen: ${listen.path} exists and is not a socket`);
        unlinkSync(listen.path);
      }
      await app.listen({ path: listen.path });
      // Whoever can connect acts with the configured role: only this user.
      chmodSync(listen.path, 0o600);
      url = `unix:${listen.path}`;
    } else {
      url = await app.listen({ host: listen.host, port: listen.port });
    }
  } catch (e) {
    await app.close();
    throw e;
  }
  return { app, url, close: () => app.close() };
}
