// Runs the fake plugin out of process, for integration tests:
//   SKYWAY_PLUGIN_CLOUD=cloud-a node --import tsx fake-plugin-main.ts
// (SKYWAY_FAKE_CLOUD is the older name.) SKYWAY_FAKE_CLOCK_OFFSET_MS skews its clock (to test the launcher's check).
import { runPlugin } from '../plugin-main.js';
import { createFakePlugin } from './fake-plugin.js';

const cloud = process.env.SKYWAY_PLUGIN_CLOUD || process.env.SKYWAY_FAKE_CLOUD;
if (!cloud) {
  console.error('fake plugin: SKYWAY_PLUGIN_CLOUD (or SKYWAY_FAKE_CLOUD) is required');
  process.exit(2);
}
await runPlugin(({ controller }) =>
  createFakePlugin({
    cloud,
    controller,
    version: process.env.SKYWAY_FAKE_VERSION || undefined,
    clockOffsetMs: Number(process.env.SKYWAY_FAKE_CLOCK_OFFSET_MS ?? 0),
  }),
);
