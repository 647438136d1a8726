// Who is calling: the verified claims of the request's bearer token (set by
// the access hook in access.ts), and the helpers handlers use to read them.
import type { TLSSocket } from 'node:tls';
import { unauthenticated } from '@skyway/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Role, TokenClaims, TokenService } from '../auth/tokens.js';
import { identityFromAltNames } from '../ca/identity.js';
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

/**
 * mTLS on REST: a control certificate the controller's CA issued (verified by TLS) is a principal
 * scoped like its token (role and namespaces from its URI). A bearer token, when sent, decides.
 * Registered before installAccess, whose hook accepts a principal set here.
 */
export function installCertificateAuth(app: FastifyInstance, revoked: (serial: string) => boolean): void {
  app.addHook('onRequest', async (request) => {
    const socket = request.raw.socket as TLSSocket;
    if (request.headers.authorization || !socket.encrypted || !socket.authorized) return;
    const cert = socket.getPeerCertificate();
    const id = identityFromAltNames(cert.subjectaltname);
    if (id?.kind !== 'control') return;
    if (!id.namespaces)
      throw unauthenticated('this control certificate names no namespaces; issue a new one');
    if (revoked(cert.serialNumber)) throw unauthenticated('certificate has been revoked');
    request.principal = {
      id: cert.serialNumber,
      subject: `control:${id.name}`,
      scope: { kind: 'api', role: id.role, namespaces: id.namespaces },
      issuedAt: new Date(cert.valid_from),
      expiresAt: new Date(cert.valid_to),
    };
  });
}
