export { Agent, type AgentOptions, agentVersion, tunnelAlpn } from './agent.js';
export { type AgentConfigFile, loadAgentConfig, loadBundle } from './config.js';
export { type EnrollmentBundle, IdentityStore } from './identity.js';
export { agentRegistry, serveAgentMetrics } from './metrics.js';
export { Service, type ServiceConfig } from './services.js';
