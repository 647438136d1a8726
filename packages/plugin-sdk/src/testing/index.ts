export * from '../conformance.js';
export * from './fake-controller.js';
export * from './fake-descriptor.js';
export * from './fake-plugin.js';
