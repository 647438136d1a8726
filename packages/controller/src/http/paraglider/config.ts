// The `paraglider:` setting: where the Paraglider-compatible API listens and
// whom it acts as. glide sends no token, so whoever can connect acts with this
// role; that is only safe on loopback or a Unix socket, and nothing else binds.
import { isIP } from 'node:net';
import { invalidArgument } from '@skyway/core';
import { type Role, roles } from '../../auth/tokens.js';

export interface ParagliderConfig {
  /** A loopback host and port (port 0: any free one), or a Unix socket path. */
  listen: { host: string; port: number } | { path: string };
  role: Role;
  /** Namespaces it may act in; ['*'] for all. */
  namespaces: string[];
  /** How long a write waits for the cloud before it answers (glide expects the outcome). */
  waitMs: number;
}

const NAMESPACE = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?|\*)$/;

/** True for 127.0.0.0/8, ::1 and localhost: addresses no other machine can reach. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.split('.')[0] === '127';
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

export function parseParagliderConfig(raw: unknown, source: string): ParagliderConfig {
  const fail = (field: string, msg: string) =>
    invalidArgument(`${source}: paraglider.${field} ${msg}`, `paraglider.${field}`);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw invalidArgument(`${source}: paraglider must be a mapping (listen, role, namespaces)`, 'paraglider');
  const obj = raw as Record<string, unknown>;
  const known = ['listen', 'role', 'namespaces', 'wait_seconds'];
  for (const k of Object.keys(obj))
    if (!known.includes(k)) throw fail(k, `is not a known setting (known: ${known.join(', ')})`);

  const listenRaw = obj.listen;
  if (typeof listenRaw !== 'string' || !listenRaw)
    throw fail('listen', 'is required: a loopback host:port (e.g. 127.0.0.1:7071) or unix:/path');
  let listen: ParagliderConfig['listen'];
  if (listenRaw.startsWith('unix:')) {
    const path = listenRaw.slice('unix:'.length);
    if (!path.startsWith('/'))
      throw fail('listen', `must name an absolute socket path (unix:/path), got "${listenRaw}"`);
    listen = { path };
  } else {
    const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listenRaw);
    if (!m || Number(m[3]) > 65535)
      throw fail('listen', `must be host:port or unix:/path, got "${listenRaw}"`);
    const host = (m[1] ?? m[2])!;
    if (!isLoopback(host)) {
      throw fail(
        'listen',
        `must be a loopback address (127.0.0.0/8, ::1, localhost) or unix:/path, got "${listenRaw}": ` +
          'this API takes no token, so it never listens where other machines can reach it',
      );
    }
    listen = { host, port: Number(m[3]) };
  }

  const role = obj.role ?? 'operator';
  if (typeof role !== 'string' || !roles.includes(role as Role))
    throw fail('role', `must be one of ${roles.join(', ')}, got ${JSON.stringify(role)}`);

  const namespaces = obj.namespaces ?? ['default'];
  if (!Array.isArray(namespaces) || namespaces.length === 0)
    throw fail('namespaces', 'must be a non-empty list of namespace names (or ["*"])');
  namespaces.forEach((n, i) => {
    if (typeof n !== 'string' || !NAMESPACE.test(n))
      throw fail(`namespaces[${i}]`, `is not a namespace name, got ${JSON.stringify(n)}`);
  });

  const wait = obj.wait_seconds ?? 60;
  if (typeof wait !== 'number' || !(wait > 0) || wait > 3600)
    throw fail('wait_seconds', `must be a number of seconds between 0 and 3600, got ${JSON.stringify(wait)}`);

  return { listen, role: role as Role, namespaces: namespaces as string[], waitMs: Math.round(wait * 1000) };
}
