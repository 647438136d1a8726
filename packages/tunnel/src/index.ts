// The agent tunnel, shared by the controller (its two listeners: the tunnel
// port agents dial and the service port callers use) and the agent (the wire:
// relay frames, keepalive, idle streams). It holds no credentials, revocations
// or loggers of its own: the controller passes its own in (credentials.ts).
//   const tunnel = await startTunnelEndpoint({ ca, credentials, statusOf, logger, host, tunnelPort, servicePort });
export * from './credentials.js';
export {
  startTunnelEndpoint,
  type TunnelEndpoint,
  type TunnelEndpointOptions,
  type TunnelLimits,
  tlsTuning,
  tunnelAlpn,
} from './endpoint.js';
export { checkClockSkew, enrollmentHandler, maxClockSkewMs } from './enrollment.js';
export * from './h1.js';
export { type AgentConnection, type AgentHello, AgentRegistry, type AgentServiceInfo } from './registry.js';
export { observeStream, type TunnelObserver, tunnelObserver } from './observer.js';
export type { ServiceTarget } from './service-auth.js';
export * from './wire.js';
