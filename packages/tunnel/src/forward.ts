// What every caller on the service port shares, whichever HTTP version it
// speaks: the request head the agent receives (the caller's credentials
// removed, X-Forwarded-* added), opening a tunnel stream to a live connection
// of the target agent, ending one without a reset, and the error answers.
import { type ClientHttp2Stream, constants } from 'node:http2';
import { isSkywayError, type SkywayError, unauthenticated } from '@skyway/core';
import type { StatusOf, TunnelLogger } from './credentials.js';
import { observeStream, tunnelObserver } from './observer.js';
import type { OpenRequests } from './open-requests.js';
import type { AgentConnection, AgentRegistry } from './registry.js';
import { frame, frameClose } from './relay-frames.js';
import type { ServiceAuthenticator, ServiceTarget } from './service-auth.js';

/** Methods that may be sent again to another agent when the first one vanished before answering. */
export const idempotent = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface RelayDeps {
  auth: ServiceAuthenticator;
  agents: AgentRegistry;
  /** What each credential has open, for revocation. */
  open: OpenRequests;
  log: TunnelLogger;
  /** Domain errors' HTTP statuses (the controller's error catalog). */
  statusOf: StatusOf;
  /** How long a request head may take to arrive once begun. */
  headMs: number;
}

export interface Failure {
  status: number;
  code: string;
  message: string;
  /** Extra response headers, lower-case names. */
  headers?: Record<string, string>;
}

export const reasons: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  421: 'Misdirected Request',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export function errorBody(f: Failure): string {
  return JSON.stringify({ error: { code: f.code, message: f.message } });
}

/** An authentication error as the caller should see it (domain errors map to their status; anything else is a 500). */
export function authFailure(e: unknown, deps: Pick<RelayDeps, 'log' | 'statusOf'>): Failure {
  if (isSkywayError(e)) return failureOf(e, deps.statusOf);
  deps.log.error({ err: e }, 'service port: authentication failed unexpectedly');
  return { status: 500, code: 'INTERNAL', message: 'internal error' };
}

function failureOf(e: SkywayError, statusOf: StatusOf): Failure {
  const status = statusOf(e);
  return {
    status,
    code: e.code,
    message: e.message,
    headers: status === 401 ? { 'www-authenticate': 'Bearer realm="skyway"' } : undefined,
  };
}

/** The answer to a request whose credential was revoked while it was open. */
export const revokedFailure = (statusOf: StatusOf) =>
  failureOf(unauthenticated('the credential of this request has been revoked'), statusOf);

const notForwarded = new Set([
  'authorization',
  'proxy-authorization',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
]);

/**
 * The HTTP/1.1 request head the agent receives: the caller's credentials and
 * Skyway headers removed, X-Forwarded-* set by us.
 */
export function requestHeadText(
  method: string,
  path: string,
  version: string,
  headers: Iterable<[string, string]>,
  forwardedFor: string,
  target: ServiceTarget,
): string {
  let text = `${method} ${path} ${version}\r\n`;
  let xff: string | undefined;
  let host: string | undefined;
  let authz: string | undefined;
  for (const [k, v] of headers) {
    if (k === 'x-forwarded-for') xff = v;
    else if (k === 'authorization') authz = v;
    else if (k === 'host') host = v;
    if (notForwarded.has(k) || k.startsWith('skyway-')) continue;
    text += `${k}: ${v}\r\n`;
  }
  text += `x-forwarded-for: ${xff ? `${xff}, ` : ''}${forwardedFor}\r\nx-forwarded-proto: https\r\n`;
  if (host) text += `x-forwarded-host: ${host}\r\n`;
  // AWS callers sign with a placeholder key; the agent reads algorithm, region and service from it and re-signs.
  if (target.serviceType === 'aws' && authz?.startsWith('AWS4-'))
    text += `skyway-caller-authorization: ${authz}\r\n`;
  return `${text}\r\n`;
}

/** The least busy live connection of the target agent (other than `exclude`), or why there is none. */
export function pickAgent(
  agents: AgentRegistry,
  t: ServiceTarget,
  exclude?: AgentConnection,
): AgentConnection | Failure {
  const conn = agents.pick(t.agent, t.key, exclude);
  if (conn) return conn;
  tunnelObserver.current?.relayError(t.agent, t.key);
  const message = agents.has(t.agent)
    ? `agent "${t.agent}" is connected but offers no ${t.key} service`
    : `agent "${t.agent}" is not connected`;
  return { status: 503, code: 'UNAVAILABLE', message, headers: { 'retry-after': '1' } };
}

/** Opens a tunnel stream to `t`'s service on an agent connection. */
export function openTunnelStream(conn: AgentConnection, t: ServiceTarget): ClientHttp2Stream | Failure {
  try {
    const stream = conn.session.request(
      {
        ':method': 'POST',
        ':path': '/relay',
        'skyway-relay': '1',
        'skyway-service-type': t.serviceType,
        'skyway-service-name': t.serviceName,
      },
      { endStream: false },
    );
    stream.on('error', () => {});
    observeStream(stream, t.agent, t.key);
    return stream;
  } catch {
    return { status: 502, code: 'UNAVAILABLE', message: `lost the connection to agent "${t.agent}"` };
  }
}

const closeFrames = [0, 1].map((reusable) => frame(frameClose, Buffer.from([reusable]))[0]);
/** How long an agent may take to end a stream after CLOSE before the stream is reset. */
const closeGraceMs = 10_000;

/**
 * Ends a tunnel stream without RST_STREAM: a CLOSE frame, END_STREAM, and
 * the agent ends its side. The agent's HTTP/2 server counts the resets it
 * receives against a rate limit (1,000, then 33 a second) and drops the whole
 * tunnel beyond it; callers coming and going must never add up to that. Only
 * a stream the agent does not end in time (it stopped reading) is reset.
 */
export function closeTunnel(stream: ClientHttp2Stream, reusable = false) {
  if (stream.closed || stream.destroyed) return;
  if (!stream.writableEnded) stream.end(closeFrames[reusable ? 1 : 0]);
  // Whatever the agent still sends is read (and dropped by the caller's side) so that its end arrives.
  stream.resume();
  const reset = setTimeout(() => stream.close(constants.NGHTTP2_CANCEL), closeGraceMs);
  reset.unref();
  stream.once('close', () => clearTimeout(reset));
}

/** Whether the service may keep its connection open after a response with this head. */
export function keepsConnection(version: string, connection: string | undefined): boolean {
  return version === 'HTTP/1.1' && !(connection && /(^|,)\s*close\s*(,|$)/i.test(connection));
}

/** How a tunnel stream ended: its agent connection is gone (`lost`), or the agent ended it normally (`clean`). */
export function howClosed(
  stream: ClientHttp2Stream,
  conn: AgentConnection,
): { lost: boolean; clean: boolean } {
  const lost = conn.session.destroyed || conn.session.closed;
  const clean = stream.rstCode === constants.NGHTTP2_NO_ERROR && stream.readableEnded;
  return { lost, clean };
}
