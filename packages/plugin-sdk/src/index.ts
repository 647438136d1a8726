// Pure helpers plugins need, so a plugin depends on the SDK alone.
// Domain errors and the contract's types, so a plugin package needs no other Skyway import.
export {
  alreadyExists,
  type Cidr,
  cidrContains,
  cidrSize,
  cidrsOverlap,
  type ErrorCode,
  failedPrecondition,
  formatCidr,
  formatIp,
  invalidArgument,
  isSkywayError,
  notFound,
  parseCidr,
  parseIp,
  permissionDenied,
  SerialQueue,
  SkywayError,
  unauthenticated,
  unavailable,
} from '@skyway/core';
export { Direction, type ParagliderDeployment, type PermitListRule } from '@skyway/proto/plugin';
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
