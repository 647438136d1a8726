// Who a caller on the service port is, and which agent service it may reach:
// a controller-issued client certificate (kind "service") or a bearer JWT with
// a service scope (also accepted as the password of Basic auth, for tools that
// only speak Basic). Verified tokens are cached briefly; revocation is checked
// on every request.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { permissionDenied, unauthenticated } from '@skyway/core';
import {
  normalizeSerial,
  type TunnelCertIdentity,
  type TunnelCredentials,
  type TunnelTokenClaims,
} from './credentials.js';

export interface ServiceTarget {
  agent: string;
  serviceType: string;
  serviceName: string;
  /** "type/name" */
  key: string;
  /** Token id or certificate serial (normalized). */
  credential: string;
}

interface SocketAuth {
  identity?: TunnelCertIdentity;
  serial?: string;
  /** The certificate's notAfter, ms. */
  notAfter?: number;
  error?: string;
}

const tokenCacheMs = 30_000;
const tokenCacheMax = 10_000;

export class ServiceAuthenticator {
  private readonly sockets = new WeakMap<object, SocketAuth>();
  private readonly tokens = new Map<string, { claims: TunnelTokenClaims; until: number }>();

  constructor(
    private readonly credentials: TunnelCredentials,
    private readonly now: () => number = Date.now,
  ) {}

  private socketAuth(sock: TLSSocket): SocketAuth {
    let a = this.sockets.get(sock);
    if (a) return a;
    a = {};
    const cert = sock.getPeerCertificate?.();
    if (cert && Object.keys(cert).length > 0) {
      if (!sock.authorized) a.error = `client certificate rejected (${sock.authorizationError})`;
      else {
        a.identity = this.credentials.identify(cert.subjectaltname);
        a.serial = normalizeSerial(cert.serialNumber);
        a.notAfter = Date.parse(cert.valid_to);
        if (!a.identity) a.error = 'client certificate carries no Skyway identity';
      }
    }
    this.sockets.set(sock, a);
    return a;
  }

  private async verifyToken(token: string): Promise<TunnelTokenClaims> {
    const now = this.now();
    const claims = await this.credentials.verifyToken(token);
    if (this.tokens.size >= tokenCacheMax) this.tokens.clear();
    this.tokens.set(token, { claims, until: Math.min(claims.expiresAt.getTime(), now + tokenCacheMs) });
    return claims;
  }

  /**
   * The caller's target: synchronously for a certificate or a token seen
   * recently (the hot path), else as a promise. Throws Unauthenticated or
   * PermissionDenied.
   */
  authenticate(req: IncomingMessage): ServiceTarget | Promise<ServiceTarget> {
    return this.authenticateCaller(req.socket as TLSSocket, req.headers.authorization);
  }

  /** The same, from the caller's TLS socket and the request's Authorization header. */
  authenticateCaller(
    sock: TLSSocket,
    authorization: string | undefined,
  ): ServiceTarget | Promise<ServiceTarget> {
    const sa = this.socketAuth(sock);
    if (sa.identity && !sa.error) return this.fromCertificate(sa.identity, sa.serial!, sa.notAfter);
    const token = bearerOf(authorization);
    if (token === undefined) {
      if (sa.error) throw unauthenticated(sa.error);
      throw unauthenticated(
        'no credentials: present a Skyway client certificate or "Authorization: Bearer <service token>"',
      );
    }
    const hit = this.tokens.get(token);
    if (hit && hit.until > this.now()) return this.fromClaims(token, hit.claims);
    return this.verifyToken(token).then((claims) => this.fromClaims(token, claims));
  }

  private fromCertificate(id: TunnelCertIdentity, serial: string, notAfter?: number): ServiceTarget {
    if (this.credentials.isRevoked(serial)) throw unauthenticated('client certificate has been revoked');
    // The handshake checked the dates once; a kept-alive connection can outlive the certificate.
    if (notAfter !== undefined && this.now() >= notAfter)
      throw unauthenticated('client certificate has expired; ask an admin for new credentials');
    if (id.kind !== 'service')
      throw permissionDenied(
        `a ${id.kind} certificate cannot reach agent services; ask for service credentials`,
      );
    return {
      agent: id.agent,
      serviceType: id.serviceType,
      serviceName: id.serviceName,
      key: `${id.serviceType}/${id.serviceName}`,
      credential: serial,
    };
  }

  private fromClaims(token: string, claims: TunnelTokenClaims): ServiceTarget {
    if (this.credentials.isRevoked(claims.id)) {
      this.tokens.delete(token);
      throw unauthenticated('token has been revoked');
    }
    if (claims.expiresAt.getTime() <= this.now()) {
      this.tokens.delete(token);
      throw unauthenticated('token has expired; ask an admin for a new one');
    }
    const s = claims.scope;
    if (s.kind !== 'service')
      throw permissionDenied(`a ${s.kind} token cannot reach agent services; ask for a service token`);
    return {
      agent: s.agent,
      serviceType: s.serviceType,
      serviceName: s.serviceName,
      key: `${s.serviceType}/${s.serviceName}`,
      credential: claims.id,
    };
  }
}

function bearerOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const sp = header.indexOf(' ');
  if (sp < 0) return undefined;
  const scheme = header.slice(0, sp).toLowerCase();
  const value = header.slice(sp + 1).trim();
  if (scheme === 'bearer') return value;
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return i >= 0 ? decoded.slice(i + 1) : undefined;
  }
  return undefined;
}
