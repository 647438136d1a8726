// An AWS plugin against moto, for the tests and the bench: moto behind the
// counting proxy, dummy credentials, a fake controller for address spaces and ASNs.
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { createFakeController, type FakeController, inProcessController } from '@skyway/plugin-sdk';
import { type AwsPlugin, createAwsPlugin } from '../plugin.js';
import { type Moto, startMoto, useDummyCredentials } from './moto.js';

export interface AwsTarget {
  moto: Moto;
  plugin: AwsPlugin;
  controller: FakeController;
  /** An EC2 client straight at moto (not counted), to look behind the plugin's back. */
  direct(region?: string): EC2Client;
  imageId: string;
  description(name: string, extra?: Record<string, unknown>): Uint8Array;
  stop(): Promise<void>;
}

export async function startAwsTarget(
  opts: {
    cloud?: string;
    regions?: string[];
    config?: Record<string, unknown>;
    controller?: FakeController;
  } = {},
): Promise<AwsTarget> {
  useDummyCredentials();
  const moto = await startMoto();
  const regions = opts.regions ?? ['us-east-1'];
  const clients = new Map<string, EC2Client>();
  const direct = (region = regions[0]!) => {
    let c = clients.get(region);
    if (!c) {
      c = new EC2Client({ region, endpoint: moto.direct });
      clients.set(region, c);
    }
    return c;
  };
  try {
    const images = await direct().send(new DescribeImagesCommand({ Owners: ['amazon'] }));
    const imageId = images.Images?.[0]?.ImageId;
    if (!imageId) throw new Error('moto lists no AMI');
    const controller = opts.controller ?? createFakeController();
    const plugin = createAwsPlugin({
      cloud: opts.cloud ?? 'aws',
      config: { regions, endpoint: moto.endpoint, max_attempts: 2, wait_seconds: 60, ...opts.config },
      controller: inProcessController(controller),
    });
    return {
      moto,
      plugin,
      controller,
      direct,
      imageId,
      description: (_name, extra = {}) =>
        new TextEncoder().encode(JSON.stringify({ ImageId: imageId, InstanceType: 't3.micro', ...extra })),
      async stop() {
        plugin.close();
        for (const c of clients.values()) c.destroy();
        await moto.stop();
      },
    };
  } catch (e) {
    await moto.stop();
    throw e;
  }
}
