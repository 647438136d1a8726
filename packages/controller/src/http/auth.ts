// Who is calling: the verified claims of the request's bearer token (set by
// the access hook in access.ts), and the helpers handlers use to read them.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Role, TokenClaims, TokenService } from '../auth/tokens.js';
import { authorize, callerOf, installAccess } from './access.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: TokenClaims;
  }
}

export { visibleNamespaces } from './access.js';

/**
 * Throws PermissionDenied unless the caller has at least `role` (in `namespace`, when given).
 * Routes declare their access in their options instead (see access.ts); this is for a check
 * that depends on what a handler finds.
 */
export function requireRole(request: FastifyRequest, role: Role, namespace?: string): void {
  authorize(callerOf(request), role, namespace === undefined ? [] : [namespace]);
}

/** Authentication and the per-route access checks, on an app of its own (tests, fixtures). */
export function installAuth(app: FastifyInstance, tokens: Pick<TokenService, 'verify'>): void {
  installAccess(app, (token) => tokens.verify(token));
}
