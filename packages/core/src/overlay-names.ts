// Names of overlay objects: RFC 1123 host names, as SCC validates them
// (go-playground's hostname_rfc1123): dot-separated labels of letters, digits
// and hyphens, each starting with a letter or digit, at most 63 characters,
// 253 in all. Names end up in strongSwan connection names and certificate
// CNs, so nothing else may pass.
import { invalidArgument } from './errors.js';

const LABEL = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;

export function isRfc1123Name(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    name.length <= 253 &&
    name.split('.').every((l) => LABEL.test(l))
  );
}

/** Throws InvalidArgument naming `field` unless `name` is an RFC 1123 host name. */
export function checkRfc1123Name(name: unknown, field = 'metadata.name'): string {
  if (!isRfc1123Name(name)) {
    throw invalidArgument(
      `${field} ${JSON.stringify(name)} is not an RFC 1123 name (letters, digits and "-", labels of 1-63 starting with a letter or digit, separated by ".")`,
      field,
      'VALIDATION_FAILED',
    );
  }
  return name;
}

/** A name made safe for strongSwan connection names ([A-Za-z0-9_-]): dots become underscores, which names never contain. */
export const swanName = (name: string) => name.replaceAll('.', '_');
