// The plugin conformance suite against moto (in-process).
import { inProcess, runConformance } from '@skyway/plugin-sdk';
import { type AwsTarget, startAwsTarget } from './testing/aws-target.js';
import { awsSkip } from './testing/skip.js';

const skip = awsSkip();
if (skip) {
  const { test } = await import('node:test');
  test('aws conformance', { skip }, () => {});
} else {
  let t: AwsTarget | undefined;
  runConformance({
    name: 'aws on moto (in-process)',
    timeoutMs: 30_000,
    sourcePorts: false,
    setup: async () => {
      t = await startAwsTarget();
      return {
        client: inProcess(t.plugin),
        deployment: { id: '123456789012', namespace: 'default' },
        resourceDescription: (name) => t!.description(name),
        cleanup: async () => {
          await t?.plugin.destroyAll();
          await t?.stop();
        },
      };
    },
  });
}
