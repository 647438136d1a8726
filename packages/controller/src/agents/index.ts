// The agents' side of the controller: the control API for agents and their
// credentials (routes.ts, issue.ts), and the controller's credential service
// as the tunnel (@skyway/tunnel) takes it (credentials.ts).
export * from './credentials.js';
export * from './issue.js';
export { type AgentRoutesOptions, agentRoutes, makeAgentRoutes } from './routes.js';
