// Pure helpers plugins need, so a plugin depends on the SDK alone.
export {
  type Cidr,
  cidrSize,
  cidrsOverlap,
  formatCidr,
  formatIp,
  parseCidr,
  parseIp,
  SerialQueue,
} from '@skyway/core';
export * from './clock.js';
export * from './conformance.js';
export * from './contract.js';
export * from './descriptor.js';
export * from './errors.js';
export * from './launcher.js';
export * from './networking.js';
export * from './permit-rule.js';
export * from './plugin-main.js';
export * from './registry.js';
export * from './semver.js';
export * from './testing/fake-controller.js';
export * from './testing/fake-descriptor.js';
export * from './testing/fake-plugin.js';
export * from './transport.js';
