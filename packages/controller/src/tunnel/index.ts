// The agent tunnel: what `skyway serve` wires in.
//   const tunnel = await startTunnelEndpoint({ home, tokens, revocations, host, tunnelPort, servicePort, logger });
//   buildApp({ ..., extraRoutes: [makeAgentRoutes(tunnel)] });
export { startTunnelEndpoint, type TunnelEndpoint, type TunnelEndpointOptions } from './endpoint.js';
export * from './issue.js';
export { type AgentConnection, AgentRegistry } from './registry.js';
export { type AgentRoutesOptions, agentRoutes, makeAgentRoutes, routeOptions } from './routes.js';
