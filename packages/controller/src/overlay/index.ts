// The overlay service (SCC API under /scc/v1) and its test rig.
export { type SccRoutesOptions, sccRoutes } from './routes.js';
export { type ConnectionObject, OverlayService, type SiteDocument, type TunnelReport } from './service.js';
export { type SccRig, startSccRig } from './testing.js';
