// Namespace names: RFC 1123 labels (as Kubernetes namespaces are), so that
// they are safe in file names, tag names (`<namespace>.<cloud>.<name>`),
// event subjects and logs. Lists of them (token scopes, shares) are bounded.
import { invalidArgument } from './errors.js';

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** At most this many namespaces in one list (a token's scope, a tag's shares). */
export const maxNamespaceList = 100;

const shown = (s: string) => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s);

export function validateNamespaceName(name: unknown, field = 'namespace'): string {
  if (typeof name !== 'string' || !LABEL.test(name)) {
    const what = typeof name === 'string' ? shown(name) : typeof name;
    throw invalidArgument(
      `${field} must be a namespace name (1-63 lowercase letters, digits and "-", starting and ending with a letter or digit), got ${what}`,
      field,
    );
  }
  return name;
}

/** Validates a list of namespace names (with `allowAll`, `*` alone means every namespace). */
export function validateNamespaceList(list: unknown, field = 'namespaces', allowAll = false): string[] {
  if (!Array.isArray(list)) throw invalidArgument(`${field} must be a list of namespace names`, field);
  if (list.length > maxNamespaceList)
    throw invalidArgument(`${field} names ${list.length} namespaces; at most ${maxNamespaceList}`, field);
  list.forEach((n, i) => {
    if (!(allowAll && n === '*')) validateNamespaceName(n, `${field}[${i}]`);
  });
  if (allowAll && list.includes('*') && list.length > 1)
    throw invalidArgument(`${field}: "*" (every namespace) stands alone`, field);
  return [...new Set(list as string[])];
}
