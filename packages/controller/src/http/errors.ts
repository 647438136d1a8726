// The one place where errors become HTTP responses: domain errors map to
// their status; schema failures become VALIDATION_FAILED naming the field;
// anything else is a 500 without internals.
import type { ErrorKind } from '@skyway/core';
import { isSkywayError } from '@skyway/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export const statusOfKind: Record<ErrorKind, number> = {
  InvalidArgument: 400,
  NotFound: 404,
  AlreadyExists: 409,
  FailedPrecondition: 412,
  Unauthenticated: 401,
  PermissionDenied: 403,
  Unavailable: 503,
};

/** Codes only the HTTP layer produces (not domain errors), listed in docs/errors.md too. */
export const httpOnlyCodes = {
  UNSUPPORTED_MEDIA_TYPE: 415,
  BODY_TOO_LARGE: 413,
  EMPTY_BODY: 400,
  METHOD_NOT_ALLOWED: 405,
  INTERNAL: 500,
} as const;

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

export function errorBody(code: string, message: string, field?: string): ErrorBody {
  return { error: field ? { code, message, field } : { code, message } };
}

/** Turns an ajv instancePath like "/rules/2/dst_port" into "rules[2].dst_port". */
function fieldOf(path: string | undefined, missing?: string): string | undefined {
  const parts = (path ?? '').split('/').filter(Boolean);
  if (missing) parts.push(missing);
  if (parts.length === 0) return undefined;
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply) {
  if (isSkywayError(err)) {
    return reply.status(statusOfKind[err.kind]).send(errorBody(err.code, err.message, err.field));
  }
  const fe = err as FastifyError & {
    validation?: Array<{ instancePath?: string; message?: string; params?: Record<string, unknown> }>;
  };
  if (fe.validation && fe.validation.length > 0) {
    const v = fe.validation[0]!;
    const params = v.params ?? {};
    const field = fieldOf(
      v.instancePath,
      (params.missingProperty as string) ?? (params.additionalProperty as string) ?? undefined,
    );
    const where = fe.validationContext ?? 'body';
    const what = params.additionalProperty
      ? `unknown field "${params.additionalProperty}"`
      : `${field ?? where} ${v.message ?? 'is invalid'}`;
    return reply.status(400).send(errorBody('VALIDATION_FAILED', `invalid ${where}: ${what}`, field));
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own client errors: malformed JSON, wrong content type, body too large.
    const code =
      fe.statusCode === 415
        ? 'UNSUPPORTED_MEDIA_TYPE'
        : fe.statusCode === 413
          ? 'BODY_TOO_LARGE'
          : 'INVALID_ARGUMENT';
    return reply.status(fe.statusCode).send(errorBody(code, fe.message));
  }
  request.log.error({ err }, 'unhandled error');
  return reply.status(500).send(errorBody('INTERNAL', 'internal error; see the controller log'));
}
