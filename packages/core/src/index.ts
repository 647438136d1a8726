export * from './cidr.js';
export * from './concurrency.js';
export * from './connectivity-plan.js';
export * from './errors.js';
export * from './ipam.js';
export * from './namespace-name.js';
export * from './permit-list.js';
export * from './tags.js';
