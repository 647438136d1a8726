// The one place where Skyway domain errors meet gRPC status codes. A plugin
// throws SkywayError; the server side turns it into a ConnectError carrying the
// stable code and field in metadata; the caller turns it back with
// fromConnectError(), so a domain error survives the wire unchanged.
import { Code, ConnectError } from '@connectrpc/connect';
import { type ErrorCode, type ErrorKind, errorCatalog, isSkywayError, SkywayError } from '@skyway/core';

/** Metadata keys (gRPC trailers) that carry the domain error across the wire. */
export const ERROR_CODE_HEADER = 'skyway-error-code';
export const ERROR_FIELD_HEADER = 'skyway-error-field';

const kindToCode: Record<ErrorKind, Code> = {
  InvalidArgument: Code.InvalidArgument,
  NotFound: Code.NotFound,
  AlreadyExists: Code.AlreadyExists,
  FailedPrecondition: Code.FailedPrecondition,
  Unauthenticated: Code.Unauthenticated,
  PermissionDenied: Code.PermissionDenied,
  Unavailable: Code.Unavailable,
};

/** The catalog code used when a gRPC error carries no Skyway code of its own. */
const codeToCatalog: Partial<Record<Code, ErrorCode>> = {
  [Code.InvalidArgument]: 'INVALID_ARGUMENT',
  [Code.OutOfRange]: 'INVALID_ARGUMENT',
  [Code.NotFound]: 'NOT_FOUND',
  [Code.AlreadyExists]: 'ALREADY_EXISTS',
  [Code.FailedPrecondition]: 'FAILED_PRECONDITION',
  [Code.Unauthenticated]: 'UNAUTHENTICATED',
  [Code.PermissionDenied]: 'PERMISSION_DENIED',
  [Code.Unavailable]: 'UNAVAILABLE',
  [Code.DeadlineExceeded]: 'UNAVAILABLE',
};

const isCatalogCode = (s: string | null): s is ErrorCode => s !== null && Object.hasOwn(errorCatalog, s);

/** The gRPC code for a domain error kind. */
export const grpcCodeOf = (kind: ErrorKind): Code => kindToCode[kind];

/**
 * Any thrown value as a ConnectError. SkywayErrors keep their catalog code and
 * field in metadata; ConnectErrors pass through; anything else becomes Internal
 * with its message (never a stack).
 */
export function toConnectError(e: unknown): ConnectError {
  if (e instanceof ConnectError) return e;
  if (isSkywayError(e)) {
    const metadata: Record<string, string> = { [ERROR_CODE_HEADER]: e.code };
    if (e.field) metadata[ERROR_FIELD_HEADER] = e.field;
    return new ConnectError(e.message, kindToCode[e.kind], metadata, undefined, e);
  }
  const message = e instanceof Error ? e.message : String(e);
  return new ConnectError(message, Code.Internal, undefined, undefined, e);
}

/**
 * A ConnectError (or anything a client call threw) as a SkywayError: the
 * original code and field when the peer sent them, otherwise the closest
 * catalog code for the gRPC status (PLUGIN_FAILED for Internal/Unknown/...).
 */
export function fromConnectError(e: unknown): SkywayError {
  if (isSkywayError(e)) return e;
  const ce = ConnectError.from(e);
  const sent = ce.metadata.get(ERROR_CODE_HEADER);
  const field = ce.metadata.get(ERROR_FIELD_HEADER) ?? undefined;
  if (isCatalogCode(sent)) return new SkywayError(sent, ce.rawMessage, field);
  return new SkywayError(codeToCatalog[ce.code] ?? 'PLUGIN_FAILED', ce.rawMessage, field);
}

/**
 * A cloud quota would be exceeded (gRPC RESOURCE_EXHAUSTED, catalog QUOTA_EXCEEDED):
 * the message names the quota; nothing was changed.
 */
export function quotaExceeded(message: string, field?: string): ConnectError {
  const metadata: Record<string, string> = { [ERROR_CODE_HEADER]: 'QUOTA_EXCEEDED' };
  if (field) metadata[ERROR_FIELD_HEADER] = field;
  return new ConnectError(message, Code.ResourceExhausted, metadata);
}

/** Wraps every method of a service implementation so thrown errors leave as ConnectErrors. */
export function mapErrors<T extends object>(impl: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, fn] of Object.entries(impl)) {
    out[key] =
      typeof fn === 'function'
        ? async (...args: unknown[]) => {
            try {
              return await fn.apply(impl, args);
            } catch (e) {
              throw toConnectError(e);
            }
          }
        : fn;
  }
  return out as T;
}
