// The web console, same origin as the API: its static files at /ui (built by
// `npm run build` into packages/console/dist; nothing fetched at run time),
// and its sign-in. A session cookie (HttpOnly, SameSite=Strict) stands for
// the token it was opened with, so that token's role and namespaces apply to
// every request the console makes, checked by the API's own access hook.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type } from '@fastify/type-provider-typebox';
import { invalidArgument, unauthenticated } from '@skyway/core';
import { parseCookie, stringifySetCookie } from 'cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TokenService } from '../auth/tokens.js';
import { allow, callerOf, publicRoute } from '../http/access.js';
import type { ConsoleSessions } from './sessions.js';

export const sessionCookie = 'skyway_session';
/** Writes with a session cookie must carry this header: a cross-site form or fetch cannot. */
export const consoleHeader = 'x-skyway-console';

export const defaultConsoleDir = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

/** The types of the files Vite emits (a fixed, small set: no MIME database needed). */
const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

interface StaticFile {
  body: Buffer;
  type: string;
  immutable: boolean;
}

/** Every file of the built console, read once: only these are ever served. */
function loadFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const rel = relative(dir, path).split('\\').join('/');
        files.set(rel, {
          body: readFileSync(path),
          type: types[extname(name)] ?? 'application/octet-stream',
          immutable: rel.startsWith('assets/'),
        });
      }
    }
  };
  if (statSync(dir, { throwIfNoEntry: false })?.isDirectory()) walk(dir);
  return files;
}

/** Turns a console session cookie into the bearer token it stands for, before authentication. */
export function installSessionCookies(app: FastifyInstance, sessions: ConsoleSessions): void {
  app.addHook('onRequest', async (request) => {
    if (request.headers.authorization || !request.headers.cookie) return;
    const id = parseCookie(request.headers.cookie)[sessionCookie];
    if (!id) return;
    const token = sessions.tokenOf(id);
    if (!token) return;
    if (!['GET', 'HEAD', 'OPTIONS'].includes(request.method) && request.headers[consoleHeader] !== '1')
      throw unauthenticated(`a console session writes only with the ${consoleHeader} header`);
    request.headers.authorization = `Bearer ${token}`;
  });
}

const SessionBody = Type.Object(
  {
    code: Type.Optional(Type.String({ minLength: 1, description: 'A login code from `skyway ui`' })),
    token: Type.Optional(Type.String({ minLength: 1, description: 'An API token, pasted' })),
  },
  { additionalProperties: false },
);

function whoami(request: FastifyRequest) {
  const caller = callerOf(request);
  return { subject: request.principal?.subject ?? '', role: caller.role, namespaces: caller.namespaces };
}

function setSession(reply: FastifyReply, request: FastifyRequest, value: string, maxAge: number) {
  const secure = request.protocol === 'https';
  reply.header(
    'set-cookie',
    stringifySetCookie({
      name: sessionCookie,
      value,
      httpOnly: true,
      sameSite: 'strict',
      path: '/',
      maxAge,
      secure,
    }),
  );
}

export function consoleRoutes(opts: { sessions: ConsoleSessions; tokens: TokenService; dir?: string }) {
  const { sessions, tokens } = opts;
  const files = loadFiles(opts.dir ?? defaultConsoleDir);
  return async (app: FastifyInstance) => {
    const tags = ['console'];
    app.post(
      '/api/v1/ui/login-codes',
      {
        config: allow('viewer', 'none'),
        schema: { tags, description: 'A single-use login code for the console' },
      },
      async (request) => {
        callerOf(request);
        const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
        if (!token) throw unauthenticated('missing bearer token');
        const { code, expiresAt } = sessions.issueCode(token);
        return { code, expires_at: expiresAt.toISOString(), path: `/ui/#code=${code}` };
      },
    );

    app.post(
      '/api/v1/ui/session',
      { config: publicRoute, schema: { tags, body: SessionBody } },
      async (request, reply) => {
        const body = request.body as { code?: string; token?: string };
        let token = body.token;
        if (body.code !== undefined) {
          token = sessions.redeemCode(body.code);
          if (!token)
            throw unauthenticated(
              'this login code is unknown, used or expired: run `skyway ui` for a new one',
            );
        } else if (token === undefined) throw invalidArgument('give a login code or a token', 'code');
        const claims = await tokens.verify(token);
        request.principal = claims;
        const me = whoami(request);
        const s = sessions.open(token);
        setSession(reply, request, s.id, s.maxAgeS);
        return me;
      },
    );

    app.get(
      '/api/v1/ui/session',
      { config: allow('viewer', 'none'), schema: { tags, description: 'Who the console is signed in as' } },
      async (request) => whoami(request),
    );

    app.delete('/api/v1/ui/session', { config: publicRoute, schema: { tags } }, async (request, reply) => {
      const id = request.headers.cookie ? parseCookie(request.headers.cookie)[sessionCookie] : undefined;
      if (id) sessions.close(id);
      setSession(reply, request, '', 0);
      return {};
    });

    const serve = async (request: FastifyRequest, reply: FastifyReply) => {
      const rel = (request.params as { '*'?: string })['*'] ?? '';
      const file = files.get(rel) ?? (rel.startsWith('assets/') ? undefined : files.get('index.html'));
      if (!file) {
        if (files.size === 0)
          return reply.status(503).type('text/plain').send('the console is not built: run npm run build\n');
        return reply.status(404).type('text/plain').send('not found\n');
      }
      return reply
        .type(file.type)
        .header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .header(
          'content-security-policy',
          "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        )
        .send(file.body);
    };
    app.get('/ui', { config: publicRoute, schema: { hide: true } }, (_req, reply) => reply.redirect('/ui/'));
    app.get('/ui/*', { config: publicRoute, schema: { hide: true } }, serve);
  };
}
