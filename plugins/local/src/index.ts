export { APT_LINE, checkHost } from './checks.js';
export { DEFAULT_COMMAND_USER } from './command-user.js';
export { type LocalConfigOptions, localOptionsFromConfig } from './config.js';
export { LabNames, parseUri } from './names.js';
export { destroyAllLabs, LabNetwork } from './network.js';
export {
  CAPABILITIES,
  createLocalPlugin,
  DEFAULT_REGION,
  DESCRIPTOR_FILE,
  type LocalPlugin,
  type LocalPluginOptions,
  VERSION,
} from './plugin.js';
