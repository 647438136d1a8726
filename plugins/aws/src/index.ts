export { type AwsConfig, parseAwsConfig } from './config.js';
export { AWS_NETWORKING_FIELDS } from './description.js';
export {
  type AwsPlugin,
  type AwsPluginOptions,
  CAPABILITIES,
  createAwsPlugin,
  DESCRIPTOR_FILE,
  VERSION,
} from './plugin.js';
export { ownerFilters, TAG } from './tags.js';
export { AWS_REFUSED_INSIDE_CIDRS, insideCidr, outsideIps } from './vpn.js';
