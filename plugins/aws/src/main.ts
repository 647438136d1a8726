// The AWS plugin out of process: `node --import tsx src/main.ts`, started by
// the controller's launcher (SKYWAY_PLUGIN_CLOUD, SKYWAY_PLUGIN_CONFIG, ...).
// Credentials come from the SDK's default chain in this process's environment.
import { runPlugin } from '@skyway/plugin-sdk';
import { createAwsPlugin } from './plugin.js';

await runPlugin(({ controller, cloud, config }) => {
  if (!cloud) throw new Error('SKYWAY_PLUGIN_CLOUD is required');
  return createAwsPlugin({ cloud, config, ...(controller ? { controller } : {}) });
});
