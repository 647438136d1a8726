// Bearer-token authentication for every route but /ping and health, and the
// role/namespace checks the routes call.
import { permissionDenied, unauthenticated } from '@skyway/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Role, TokenClaims, TokenService } from '../auth/tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: TokenClaims;
  }
}

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Routes that answer without a token. */
const publicPaths = new Set(['/ping', '/healthz', '/readyz']);

export function installAuth(app: FastifyInstance, tokens: TokenService): void {
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0]!;
    if (publicPaths.has(path) || path.startsWith('/docs')) return;
    const header = request.headers.authorization;
    if (!header) throw unauthenticated('missing bearer token: send "Authorization: Bearer <token>"');
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw unauthenticated('Authorization header must be "Bearer <token>"');
    request.principal = await tokens.verify(m[1]!);
  });
}

/** Throws PermissionDenied unless the caller has at least `role` (in `namespace`, when given). */
export function requireRole(request: FastifyRequest, role: Role, namespace?: string): void {
  const p = request.principal;
  if (!p) throw unauthenticated('missing bearer token');
  if (p.scope.kind !== 'api') throw permissionDenied(`a ${p.scope.kind} token cannot call the control API`);
  if (rank[p.scope.role] < rank[role]) {
    throw permissionDenied(`this needs the ${role} role; the token has ${p.scope.role}`);
  }
  if (
    namespace !== undefined &&
    !p.scope.namespaces.includes('*') &&
    !p.scope.namespaces.includes(namespace)
  ) {
    throw permissionDenied(`the token is not scoped to namespace "${namespace}"`);
  }
}

/** The namespaces the caller may see, or undefined for all. */
export function visibleNamespaces(request: FastifyRequest): string[] | undefined {
  const p = request.principal;
  if (p?.scope.kind !== 'api' || p.scope.namespaces.includes('*')) return undefined;
  return p.scope.namespaces;
}
