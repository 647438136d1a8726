// What a Skyway client certificate stands for, carried as one URI in its
// subjectAltName so that any TLS stack can read it back.
import { invalidArgument } from '@skyway/core';
import type { Role } from '../auth/tokens.js';

export type CertIdentity =
  | { kind: 'agent'; agent: string }
  | { kind: 'service'; agent: string; serviceType: string; serviceName: string }
  | { kind: 'control'; name: string; role: Role; namespaces?: string[] };

const scheme = 'skyway:';
const enc = encodeURIComponent;

export function identityToUri(id: CertIdentity): string {
  switch (id.kind) {
    case 'agent':
      return `${scheme}//agent/${enc(id.agent)}`;
    case 'service':
      return `${scheme}//service/${enc(id.agent)}/${enc(id.serviceType)}/${enc(id.serviceName)}`;
    case 'control':
      // The namespaces ride along so that the certificate, used on REST (mTLS), is scoped like its token.
      return `${scheme}//control/${enc(id.role)}/${enc(id.name)}${id.namespaces ? `/${id.namespaces.map(enc).join(',')}` : ''}`;
  }
}

export function identityFromUri(uri: string): CertIdentity | undefined {
  if (!uri.startsWith(`${scheme}//`)) return undefined;
  const raw = uri.slice(scheme.length + 2).split('/');
  const parts = raw.map(decodeURIComponent);
  const [kind, ...rest] = parts;
  if (kind === 'agent' && rest.length === 1) return { kind, agent: rest[0]! };
  if (kind === 'service' && rest.length === 3)
    return { kind, agent: rest[0]!, serviceType: rest[1]!, serviceName: rest[2]! };
  if (
    kind === 'control' &&
    [2, 3].includes(rest.length) &&
    ['viewer', 'operator', 'admin'].includes(rest[0]!)
  ) {
    const id: CertIdentity = { kind, role: rest[0] as Role, name: rest[1]! };
    if (rest.length === 3) id.namespaces = raw[3]!.split(',').map(decodeURIComponent);
    return id;
  }
  return undefined;
}

/** Reads the identity out of Node's `subjectaltname` string ("DNS:a, URI:skyway://..."). */
export function identityFromAltNames(altnames: string | undefined): CertIdentity | undefined {
  if (!altnames) return undefined;
  for (const part of altnames.split(/,\s*/)) {
    if (part.startsWith('URI:')) {
      const id = identityFromUri(part.slice(4));
      if (id) return id;
    }
  }
  return undefined;
}

const namePattern = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;

/** Agent and service names: lowercase DNS-label-like, 1..63 characters. */
export function checkName(value: string, field: string): string {
  if (!namePattern.test(value))
    throw invalidArgument(
      `${field} must be 1-63 lowercase letters, digits, '.', '_' or '-', starting and ending with a letter or digit, got "${value}"`,
      field,
    );
  return value;
}

export const builtinServiceTypes = ['kubernetes', 'jenkins', 'argocd', 'aws'] as const;

/** Service types: the built-in ones, or a custom type named x-... */
export function checkServiceType(value: string, field = 'serviceType'): string {
  if ((builtinServiceTypes as readonly string[]).includes(value)) return value;
  if (/^x-[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/.test(value)) return value;
  throw invalidArgument(
    `${field} must be one of ${builtinServiceTypes.join(', ')} or a custom type named x-..., got "${value}"`,
    field,
  );
}
