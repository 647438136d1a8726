export * from './agents/index.js';
export * from './auth/revocations.js';
export * from './auth/tokens.js';
export * from './ca/index.js';
export * from './config.js';
export * from './controller.js';
export {
  type AccessDeclaration,
  allow,
  type NamespaceSource,
  publicRoute,
  type RouteAccess,
} from './http/access.js';
export { buildApp, redactPaths } from './http/app.js';
export { requireRole } from './http/auth.js';
export * from './overlay/index.js';
export type { Drift, PollReport } from './services/poller.js';
export * from './store/store.js';
