// AWS errors as Skyway's domain errors: a wrong key or region says which, a
// missing object is NOT_FOUND, a quota is QUOTA_EXCEEDED, throttling that
// outlived the SDK's retries is UNAVAILABLE. Never the request or a secret.
import {
  failedPrecondition,
  invalidArgument,
  isSkywayError,
  notFound,
  permissionDenied,
  quotaExceeded,
  unauthenticated,
  unavailable,
} from '@skyway/plugin-sdk';

interface AwsError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
}

const codeOf = (e: AwsError) => e.Code ?? e.name ?? '';

/** True when AWS says the object is not there (InvalidInstanceID.NotFound, InvalidGroup.NotFound, ...). */
export const isNotFound = (e: unknown) => /NotFound$|\.Malformed$|^InvalidID$/.test(codeOf(e as AwsError));
export const isCode = (e: unknown, ...codes: string[]) => codes.includes(codeOf(e as AwsError));
/** The endpoint does not implement the call at all (an AWS-compatible cloud such as moto). */
export const isUnsupported = (e: unknown) => {
  const err = e as AwsError;
  return (
    isCode(e, 'NotImplemented', 'InvalidAction', 'UnsupportedOperation') ||
    (err.$metadata?.httpStatusCode === 500 && /XML parse error|Deserialization error/.test(err.message ?? ''))
  );
};

/** Maps anything an AWS call threw; `what` says what Skyway was doing ("creating the VPC in us-east-1"). */
export function awsError(e: unknown, what: string, region?: string, field?: string): Error {
  if (isSkywayError(e) || (e instanceof Error && e.name === 'ConnectError')) return e as Error;
  const err = e as AwsError;
  const code = codeOf(err);
  const msg = `${what}: ${code ? `${code}: ` : ''}${err.message ?? String(e)}`;
  if (
    /^(AuthFailure|InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClientException|ExpiredToken|InvalidAccessKeyId)$/.test(
      code,
    )
  ) {
    return unauthenticated(`${msg} (check the access key of the credentials the SDK found)`);
  }
  if (code === 'CredentialsProviderError' || /Could not load credentials/.test(err.message ?? '')) {
    return unauthenticated(`${what}: no AWS credentials found (environment, profile, SSO or instance role)`);
  }
  if (/^(UnauthorizedOperation|AccessDenied|AccessDeniedException|OptInRequired)$/.test(code)) {
    return permissionDenied(
      `${msg} (the credentials' policy does not allow this call${region ? ` in ${region}` : ''})`,
    );
  }
  if (
    /^(InvalidRegion|UnknownEndpoint)$/.test(code) ||
    /getaddrinfo ENOTFOUND ec2\./.test(err.message ?? '')
  ) {
    return invalidArgument(`${msg} (is "${region}" an enabled region?)`, 'config.regions');
  }
  if (
    /LimitExceeded$|^InsufficientInstanceCapacity$|^VcpuLimitExceeded$/.test(code) &&
    code !== 'RequestLimitExceeded'
  ) {
    return quotaExceeded(`${msg} (an AWS quota; raise it in Service Quotas)`);
  }
  if (isUnsupported(e)) {
    return unavailable(
      `${what}: the endpoint answered HTTP ${err.$metadata?.httpStatusCode} without an AWS error (an unknown region${region ? ` "${region}"` : ''}, or a call it does not implement)`,
      'PLUGIN_FAILED',
    );
  }
  if (isNotFound(e)) return notFound(msg);
  if (
    /^(InvalidParameterValue|InvalidParameter|InvalidParameterCombination|MissingParameter|InvalidAMIID\..*|InvalidInstanceType|Unsupported)$/.test(
      code,
    )
  ) {
    return invalidArgument(msg, field);
  }
  if (/^(DependencyViolation|IncorrectState|InvalidState|IncorrectInstanceState)$/.test(code))
    return failedPrecondition(msg);
  if (
    /^(RequestLimitExceeded|Throttling|ThrottlingException|ServiceUnavailable|InternalError|Unavailable)$/.test(
      code,
    ) ||
    err.$fault === 'server'
  ) {
    return unavailable(`${msg} (after the SDK's retries)`);
  }
  if (/ECONNREFUSED|ETIMEDOUT|ENOTFOUND|socket hang up/.test(err.message ?? '')) {
    return unavailable(`${what}: the EC2 endpoint cannot be reached: ${err.message}`);
  }
  return unavailable(msg, 'PLUGIN_FAILED');
}
