// Enrollment on the tunnel port (plain HTTPS, no client certificate needed):
// an agent trades a short-lived, single-use join token and a CSR for a client
// certificate; later it renews with its current certificate (mTLS). The
// agent's private key never leaves it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  failedPrecondition,
  invalidArgument,
  isSkywayError,
  permissionDenied,
  unauthenticated,
} from '@skyway/core';
import {
  normalizeSerial,
  type StatusOf,
  type TunnelCa,
  type TunnelCredentials,
  type TunnelLogger,
} from './credentials.js';

/** Agent clocks further off than this are refused (as tokens issued that far ahead are). */
export const maxClockSkewMs = 5 * 60_000;

export interface EnrollmentOptions {
  ca: TunnelCa;
  credentials: TunnelCredentials;
  agentCertTtlMs: number;
  logger: TunnelLogger;
  statusOf: StatusOf;
  now?: () => number;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 64 * 1024) throw invalidArgument('request body is larger than 64 KiB');
    chunks.push(c as Buffer);
  }
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (v && typeof v === 'object') return v;
  } catch {}
  throw invalidArgument('request body must be a JSON object');
}

function formatSkew(ms: number) {
  const s = Math.round(Math.abs(ms) / 1000);
  return `${Math.floor(s / 60)}m${s % 60}s ${ms > 0 ? 'ahead of' : 'behind'}`;
}

export function checkClockSkew(agentTimeMs: unknown, now: number) {
  if (typeof agentTimeMs !== 'number' || !Number.isFinite(agentTimeMs))
    throw invalidArgument('timeMs (the agent clock, ms since the epoch) is required', 'timeMs');
  const skew = agentTimeMs - now;
  if (Math.abs(skew) > maxClockSkewMs)
    throw failedPrecondition(
      `clock skew too large: the agent's clock is ${formatSkew(skew)} the controller's; more than 5 minutes is refused, so synchronize the agent's clock (NTP) and retry`,
      'CLOCK_SKEW',
    );
}

export function enrollmentHandler(opts: EnrollmentOptions) {
  const now = opts.now ?? Date.now;
  /** Join tokens with an enrollment under way (revoked only once it succeeds). */
  const enrolling = new Set<string>();
  const enroll = async (req: IncomingMessage) => {
    const body = await readJson(req);
    checkClockSkew(body.timeMs, now());
    if (typeof body.token !== 'string') throw invalidArgument('token is required', 'token');
    if (typeof body.csr !== 'string') throw invalidArgument('csr is required', 'csr');
    const claims = await opts.credentials.verifyToken(body.token);
    if (claims.scope.kind !== 'join')
      throw permissionDenied(`a ${claims.scope.kind} token cannot enroll an agent`);
    // Single use even for concurrent attempts: the token is revoked only after signing (awaited).
    if (opts.credentials.isRevoked(claims.id) || enrolling.has(claims.id))
      throw unauthenticated('join token has already been used or was revoked');
    const agent = claims.scope.agent;
    enrolling.add(claims.id);
    let issued: Awaited<ReturnType<TunnelCa['signCsr']>>;
    try {
      issued = await opts.ca.signCsr(body.csr, { kind: 'agent', agent }, opts.agentCertTtlMs);
      // Join tokens are single use.
      await opts.credentials.revoke(claims.id);
    } finally {
      enrolling.delete(claims.id);
    }
    opts.logger.info({ agent, serial: issued.serial }, 'agent enrolled');
    return {
      agent,
      certificate: issued.certPem,
      ca: opts.ca.certPem,
      expiresAt: issued.notAfter.toISOString(),
    };
  };
  const renew = async (req: IncomingMessage) => {
    const sock = req.socket as TLSSocket;
    const cert = sock.getPeerCertificate();
    if (!cert || Object.keys(cert).length === 0)
      throw unauthenticated('renewal needs the current agent certificate');
    if (!sock.authorized) throw unauthenticated(`agent certificate rejected (${sock.authorizationError})`);
    // Revocation first: a revoked certificate of any kind is told so, whatever it is for.
    if (opts.credentials.isRevoked(normalizeSerial(cert.serialNumber)))
      throw unauthenticated('client certificate has been revoked');
    const id = opts.credentials.identify(cert.subjectaltname);
    if (id?.kind !== 'agent') throw permissionDenied('only agent certificates can be renewed here');
    const body = await readJson(req);
    checkClockSkew(body.timeMs, now());
    if (typeof body.csr !== 'string') throw invalidArgument('csr is required', 'csr');
    const issued = await opts.ca.signCsr(body.csr, id, opts.agentCertTtlMs);
    opts.logger.info({ agent: id.agent, serial: issued.serial }, 'agent certificate renewed');
    return {
      agent: id.agent,
      certificate: issued.certPem,
      ca: opts.ca.certPem,
      expiresAt: issued.notAfter.toISOString(),
    };
  };
  return async (req: IncomingMessage, res: ServerResponse) => {
    const reply = (status: number, value: unknown) => {
      const data = JSON.stringify(value);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(data),
      });
      res.end(data);
    };
    try {
      const path = req.url?.split('?')[0];
      if (req.method === 'POST' && path === '/v1/enroll') return reply(200, await enroll(req));
      if (req.method === 'POST' && path === '/v1/renew') return reply(200, await renew(req));
      if (req.method === 'GET' && path === '/healthz') return reply(200, { status: 'ok' });
      return reply(404, { error: { code: 'NOT_FOUND', message: `no route ${req.method} ${path}` } });
    } catch (e) {
      if (isSkywayError(e)) {
        const field = e.field ? { field: e.field } : {};
        return reply(opts.statusOf(e), { error: { code: e.code, message: e.message, ...field } });
      }
      opts.logger.error({ err: e }, 'enrollment failed');
      return reply(500, { error: { code: 'INTERNAL', message: 'internal error; see the controller log' } });
    }
  };
}
