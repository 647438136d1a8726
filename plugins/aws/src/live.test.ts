// Opt-in: the same conformance suite against a real AWS account.
//   SKYWAY_AWS_LIVE=1 [SKYWAY_AWS_LIVE_REGION=us-east-1] [AWS_PROFILE=...] npm test -- plugins/aws/src/live.test.ts
// Credentials come from the SDK's default chain. It makes a VPC, a few t3.micro
// instances for seconds each, a VPN gateway and one VPN connection (billed per
// started hour) and removes everything it made (its own owner tag) at the end.
// Never run in CI.
import { randomBytes } from 'node:crypto';
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { createFakeController, inProcess, inProcessController, runConformance } from '@skyway/plugin-sdk';
import { type AwsPlugin, createAwsPlugin } from './plugin.js';

if (process.env.SKYWAY_AWS_LIVE !== '1') {
  const { test } = await import('node:test');
  test('aws live conformance', {
    skip: 'opt-in: set SKYWAY_AWS_LIVE=1 with real credentials (see plugins/aws/README.md)',
  }, () => {});
} else {
  const region = process.env.SKYWAY_AWS_LIVE_REGION || 'us-east-1';
  const run = randomBytes(3).toString('hex');
  let plugin: AwsPlugin | undefined;
  runConformance({
    name: `aws live (${region})`,
    timeoutMs: 600_000,
    sourcePorts: false,
    setup: async () => {
      const ec2 = new EC2Client({ region });
      const images = await ec2.send(
        new DescribeImagesCommand({
          Owners: ['amazon'],
          Filters: [{ Name: 'name', Values: ['al2023-ami-2023*-x86_64'] }],
        }),
      );
      ec2.destroy();
      const image = (images.Images ?? []).sort((a, b) =>
        (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''),
      )[0];
      if (!image?.ImageId) throw new Error(`no Amazon Linux 2023 image in ${region}`);
      plugin = createAwsPlugin({
        cloud: 'aws-live',
        // an owner of its own: cleanup removes exactly what this run made
        config: { regions: [region], owner: `skyway-live-${run}` },
        controller: inProcessController(createFakeController({ pools: ['10.240.0.0/12'] })),
      });
      return {
        client: inProcess(plugin),
        deployment: { id: 'live', namespace: 'default' },
        resourceDescription: () =>
          new TextEncoder().encode(JSON.stringify({ ImageId: image.ImageId, InstanceType: 't3.micro' })),
        cleanup: async () => {
          await plugin?.destroyAll();
          plugin?.close();
        },
      };
    },
  });
}
