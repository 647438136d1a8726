// Domain errors: transport-free. Each carries a stable `code` from the
// catalog; the REST layer maps `kind` to an HTTP status and the gRPC layer to
// a gRPC code, each in exactly one place.

export type ErrorKind =
  | 'InvalidArgument'
  | 'NotFound'
  | 'AlreadyExists'
  | 'FailedPrecondition'
  | 'Unauthenticated'
  | 'PermissionDenied'
  | 'Unavailable';

export interface CatalogEntry {
  kind: ErrorKind;
  /** What the code means, for the docs. */
  summary: string;
}

/**
 * Every stable error code Skyway returns. docs/errors.md lists the same codes;
 * a test keeps the two in step.
 */
export const errorCatalog = {
  INVALID_ARGUMENT: {
    kind: 'InvalidArgument',
    summary: 'A field of the request is malformed or out of range.',
  },
  VALIDATION_FAILED: { kind: 'InvalidArgument', summary: 'The request body does not match the schema.' },
  INVALID_CIDR: { kind: 'InvalidArgument', summary: 'A value is not a valid IPv4 address or CIDR.' },
  TAG_CYCLE: {
    kind: 'InvalidArgument',
    summary: 'Setting these tag members would make a tag contain itself.',
  },
  NETWORKING_NOT_ALLOWED: {
    kind: 'InvalidArgument',
    summary:
      'A resource description names networking details (VPC, subnet, interfaces); Skyway assigns those.',
  },
  INVALID_DESCRIPTOR: {
    kind: 'InvalidArgument',
    summary: 'A plugin descriptor is missing a field or has a wrong type.',
  },
  NOT_FOUND: { kind: 'NotFound', summary: 'The named object does not exist.' },
  UNKNOWN_CLOUD: { kind: 'NotFound', summary: 'No cloud of that name is configured in the namespace.' },
  UNKNOWN_NAMESPACE: { kind: 'NotFound', summary: 'No namespace of that name is configured.' },
  ALREADY_EXISTS: { kind: 'AlreadyExists', summary: 'An object of that name already exists.' },
  FAILED_PRECONDITION: {
    kind: 'FailedPrecondition',
    summary: 'The system is not in a state that allows this.',
  },
  POOL_EXHAUSTED: {
    kind: 'FailedPrecondition',
    summary: 'No free address space, ASN or peering address is left.',
  },
  QUOTA_EXCEEDED: {
    kind: 'FailedPrecondition',
    summary: "A cloud's quota (rules per security group, ...) would be exceeded; nothing was changed.",
  },
  CLOCK_SKEW: {
    kind: 'FailedPrecondition',
    summary: "A clock differs from the controller's by more than 5 minutes.",
  },
  IN_USE: {
    kind: 'FailedPrecondition',
    summary: 'The object still has children or others refer to it; delete those first.',
  },
  ADDRESS_OVERLAP: {
    kind: 'FailedPrecondition',
    summary: 'An IP range overlaps another range of the overlays or the provider.',
  },
  NOT_REGISTERED: {
    kind: 'FailedPrecondition',
    summary: 'The hub or device has no agent connected to the controller yet.',
  },
  UNAUTHENTICATED: {
    kind: 'Unauthenticated',
    summary: 'No credentials, or credentials that are invalid, expired or revoked.',
  },
  PERMISSION_DENIED: {
    kind: 'PermissionDenied',
    summary: 'The credentials do not allow this action or namespace.',
  },
  UNAVAILABLE: { kind: 'Unavailable', summary: 'A plugin, agent or backend could not be reached.' },
  PLUGIN_FAILED: { kind: 'Unavailable', summary: 'A cloud plugin returned an error.' },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof errorCatalog;

export class SkywayError extends Error {
  readonly kind: ErrorKind;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The request field at fault, as a dotted path, when there is one. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'SkywayError';
    this.kind = errorCatalog[code].kind;
  }
}

export const invalidArgument = (message: string, field?: string, code: ErrorCode = 'INVALID_ARGUMENT') =>
  new SkywayError(code, message, field);
export const notFound = (message: string, code: ErrorCode = 'NOT_FOUND') => new SkywayError(code, message);
export const alreadyExists = (message: string) => new SkywayError('ALREADY_EXISTS', message);
export const failedPrecondition = (message: string, code: ErrorCode = 'FAILED_PRECONDITION') =>
  new SkywayError(code, message);
export const unauthenticated = (message: string) => new SkywayError('UNAUTHENTICATED', message);
export const permissionDenied = (message: string) => new SkywayError('PERMISSION_DENIED', message);
export const unavailable = (message: string, code: ErrorCode = 'UNAVAILABLE') =>
  new SkywayError(code, message);

export const isSkywayError = (e: unknown): e is SkywayError => e instanceof SkywayError;
