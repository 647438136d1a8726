// Errors the lab cloud returns: ConnectErrors carrying Skyway's stable error
// code (and field) in metadata, the way the plugin SDK maps domain errors.
import { Code, ConnectError } from '@connectrpc/connect';
import { ERROR_CODE_HEADER, ERROR_FIELD_HEADER } from '@skyway/plugin-sdk';

const codes = {
  INVALID_ARGUMENT: Code.InvalidArgument,
  NETWORKING_NOT_ALLOWED: Code.InvalidArgument,
  INVALID_CIDR: Code.InvalidArgument,
  NOT_FOUND: Code.NotFound,
  ALREADY_EXISTS: Code.AlreadyExists,
  FAILED_PRECONDITION: Code.FailedPrecondition,
  POOL_EXHAUSTED: Code.FailedPrecondition,
  UNAVAILABLE: Code.Unavailable,
  PERMISSION_DENIED: Code.PermissionDenied,
} as const;

export type LabErrorCode = keyof typeof codes;

export function labError(code: LabErrorCode, message: string, field?: string): ConnectError {
  const metadata: Record<string, string> = { [ERROR_CODE_HEADER]: code };
  if (field) metadata[ERROR_FIELD_HEADER] = field;
  return new ConnectError(message, codes[code], metadata);
}

export const invalid = (message: string, field?: string) => labError('INVALID_ARGUMENT', message, field);
export const notFound = (message: string) => labError('NOT_FOUND', message);
export const precondition = (message: string) => labError('FAILED_PRECONDITION', message);
