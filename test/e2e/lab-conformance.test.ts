// The plugin SDK's conformance suite against the lab cloud (in-process), on
// real namespaces. The VPN cases point at a remote that does not exist: the
// gateway and connection are created and removed, the tunnel never comes up.
import { teardown } from '@skyway/dataplane';
import { createLocalPlugin, type LocalPlugin } from '@skyway/plugin-local';
import { createFakeController, inProcess, inProcessController, runConformance } from '@skyway/plugin-sdk';
import { runner, skipReason, testId } from './lab-helpers.js';

const skip = skipReason();
const id = testId();

if (skip) {
  const { test } = await import('node:test');
  test('lab conformance', { skip }, () => {});
} else {
  let plugin: LocalPlugin | undefined;
  runConformance({
    name: 'lab cloud (in-process)',
    timeoutMs: 60_000,
    vpn: { remoteCloud: `${id}-remote` },
    setup: async () => {
      plugin = createLocalPlugin({
        cloud: `${id}-lab`,
        controller: inProcessController(createFakeController()),
        stateDir: `/tmp/skyway-${id}`,
        runner,
        internet: `sky.${id}.inet`,
      });
      return {
        client: inProcess(plugin),
        deployment: { id: 'lab', namespace: 'default' },
        resourceDescription: () => new TextEncoder().encode(JSON.stringify({ region: 'r1' })),
        cleanup: async () => {
          await plugin?.destroyLab();
          await teardown(runner, { prefix: `sky.${id}`, dirs: [`/tmp/skyway-${id}`] });
        },
      };
    },
  });
}
