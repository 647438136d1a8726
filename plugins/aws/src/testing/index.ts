export { type AwsTarget, startAwsTarget } from './aws-target.js';
export { leftovers } from './leftovers.js';
export { type ApiCall, MOTO_MISSING, type Moto, startMoto, useDummyCredentials } from './moto.js';
