// Authorization, declared once per route and enforced by one hook. Every
// route says in its options which role it needs and where the namespace it
// touches comes from:
//
//   app.get('/x/:namespace', { config: { access: { role: 'viewer', namespace: 'params.namespace' } } }, ...)
//
// A route without a declaration stops the app from starting (onRoute), so a
// handler can never forget its check.
import { permissionDenied, unauthenticated } from '@skyway/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Role } from '../auth/tokens.js';

/**
 * Where a route's namespace comes from:
 * - `params.x`, `query.x`, `body.x`: that field (a name or a list of names); each must be in the
 *   token's scope. When the field is absent the route acts as `filter`.
 * - `filter`: the route spans namespaces and its handler shows only `visibleNamespaces(req)`.
 * - `all`: the route affects every namespace; the token must be scoped to all (`*`).
 * - `none`: the route touches no namespace's data (e.g. the plugin catalogue).
 * - a function: computes the namespaces from the request (e.g. a tag's owner). It returns the
 *   namespaces that must all be in scope; `GLOBAL` among them stands for an object of no
 *   namespace, which needs the admin role and a token scoped to all.
 */
export type NamespaceSource =
  | 'none'
  | 'filter'
  | 'all'
  | `params.${string}`
  | `query.${string}`
  | `body.${string}`
  | NamespaceResolver;

export type NamespaceResolver = (req: FastifyRequest, caller: Caller) => string[] | Promise<string[]>;

export interface RouteAccess {
  role: Role;
  namespace: NamespaceSource;
}

/** `public`: answers without a token (health checks, the API docs). */
export type AccessDeclaration = RouteAccess | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessDeclaration;
  }
  interface FastifyInstance {
    /** Every route's declaration by "METHOD /url/:param" (for the tenancy test and the docs). */
    routeAccess: Map<string, AccessDeclaration>;
  }
}

/** In a resolver's answer: an object that belongs to no namespace (admins only). */
export const GLOBAL = '*';

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
const roleNames = Object.keys(rank);
const sourceKinds = /^(none|filter|all|(params|query|body)\.[A-Za-z_][A-Za-z0-9_]*)$/;

/** What an API token lets its bearer do, as the routes see it. */
export interface Caller {
  role: Role;
  /** The namespaces of the token; `*` = all. */
  namespaces: readonly string[];
  /** Scoped to all namespaces. */
  all: boolean;
  sees(namespace: string): boolean;
}

/** The API caller of a request; PermissionDenied for tokens of another kind. */
export function callerOf(request: FastifyRequest): Caller {
  const p = request.principal;
  if (!p) throw unauthenticated('missing bearer token');
  if (p.scope.kind !== 'api') throw permissionDenied(`a ${p.scope.kind} token cannot call the control API`);
  const { role, namespaces } = p.scope;
  const all = namespaces.includes('*');
  return { role, namespaces, all, sees: (ns) => all || namespaces.includes(ns) };
}

/** Throws PermissionDenied unless the caller has at least `role` in every one of `namespaces`. */
export function authorize(caller: Caller, role: Role, namespaces: readonly string[]): void {
  if (namespaces.includes(GLOBAL)) {
    if (!caller.all || caller.role !== 'admin')
      throw permissionDenied(
        'this object belongs to no namespace: only an admin token scoped to all namespaces (*) may change it',
      );
    return;
  }
  if (rank[caller.role] < rank[role]) {
    throw permissionDenied(`this needs the ${role} role; the token has ${caller.role}`);
  }
  for (const ns of namespaces) {
    if (!caller.sees(ns)) throw permissionDenied(`the token is not scoped to namespace "${ns}"`);
  }
}

/** The namespaces the caller may see, or undefined for all. */
export function visibleNamespaces(request: FastifyRequest): string[] | undefined {
  const p = request.principal;
  if (p?.scope.kind !== 'api' || p.scope.namespaces.includes('*')) return undefined;
  return p.scope.namespaces;
}

/** The access declaration of the route that serves `request` (undefined: no route, a 404). */
export function accessOf(request: FastifyRequest): AccessDeclaration | undefined {
  return request.routeOptions.config?.access;
}

function checkDeclaration(method: string, url: string, access: unknown): void {
  const where = `route ${method} ${url}`;
  if (access === 'public') return;
  if (!access || typeof access !== 'object') {
    throw new Error(
      `${where} declares no access: add config: { access: { role, namespace } } (or 'public') to its options`,
    );
  }
  const { role, namespace } = access as Partial<RouteAccess>;
  if (!role || !roleNames.includes(role))
    throw new Error(`${where}: access.role must be one of ${roleNames}`);
  if (typeof namespace !== 'function' && !(typeof namespace === 'string' && sourceKinds.test(namespace))) {
    throw new Error(
      `${where}: access.namespace must be none, filter, all, params.<field>, query.<field>, body.<field> or a function`,
    );
  }
}

function valueAt(request: FastifyRequest, source: string): unknown {
  const [part, field] = source.split('.') as ['params' | 'query' | 'body', string];
  const container = request[part] as Record<string, unknown> | undefined | null;
  return container && typeof container === 'object' ? container[field] : undefined;
}

async function requiredNamespaces(request: FastifyRequest, caller: Caller, source: NamespaceSource) {
  if (typeof source === 'function') return source(request, caller);
  if (source === 'none' || source === 'filter') return [];
  if (source === 'all') {
    if (!caller.all)
      throw permissionDenied('this affects every namespace: it needs a token scoped to all (*)');
    return [];
  }
  const value = valueAt(request, source);
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/**
 * Installs authentication (onRequest: every request but public routes carries a valid token)
 * and authorization (preHandler: the route's declared role and namespaces), and refuses
 * routes registered without a declaration.
 */
export function installAccess(app: FastifyInstance, verify: (token: string) => Promise<unknown>): void {
  const table = new Map<string, AccessDeclaration>();
  app.decorate('routeAccess', table);
  app.addHook('onRoute', (route) => {
    // The API docs (registered by @fastify/swagger-ui) are public.
    if (route.url === '/docs' || route.url.startsWith('/docs/')) {
      route.config = { ...route.config, access: 'public' };
    }
    const methods = [route.method].flat().map(String);
    for (const method of methods) checkDeclaration(method, route.url, route.config?.access);
    for (const method of methods) table.set(`${method} ${route.url}`, route.config!.access!);
  });

  app.addHook('onRequest', async (request) => {
    if (accessOf(request) === 'public') return;
    if (request.principal) return; // a client certificate (mTLS, see auth.ts)
    const header = request.headers.authorization;
    if (!header) throw unauthenticated('missing bearer token: send "Authorization: Bearer <token>"');
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw unauthenticated('Authorization header must be "Bearer <token>"');
    request.principal = (await verify(m[1]!)) as FastifyRequest['principal'];
  });

  // preHandler: after validation, so body fields are the checked ones.
  app.addHook('preHandler', async (request) => {
    const access = accessOf(request);
    if (access === undefined || access === 'public') return;
    const caller = callerOf(request);
    authorize(caller, access.role, await requiredNamespaces(request, caller, access.namespace));
  });
}

/** A route's `config`: `{ config: allow('operator', 'params.namespace'), schema }`. */
export const allow = (role: Role, namespace: NamespaceSource): { access: RouteAccess } => ({
  access: { role, namespace },
});

/** A route's `config` for routes that answer without a token. */
export const publicRoute = { access: 'public' } as const satisfies { access: AccessDeclaration };
