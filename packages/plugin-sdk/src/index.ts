export * from './contract.js';
export * from './descriptor.js';
export * from './errors.js';
export * from './registry.js';
export * from './semver.js';
export * from './transport.js';
