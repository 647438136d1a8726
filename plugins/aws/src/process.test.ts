// The AWS plugin out of process: started by the SDK's launcher from its own
// descriptor (runtime: process), calling back into a controller over gRPC with
// its own key, reaching moto through `endpoint` with credentials from its environment.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  bearerAuthorizer,
  controllerRoutes,
  createFakeController,
  Direction,
  type LaunchedPlugin,
  launchPlugin,
  loadDescriptor,
  serve,
} from '@skyway/plugin-sdk';
import { DESCRIPTOR_FILE } from './plugin.js';
import { type Moto, startMoto } from './testing/moto.js';
import { awsSkip } from './testing/skip.js';

const skip = awsSkip();
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
let moto: Moto;
let launched: LaunchedPlugin | undefined;
let callbacks: Awaited<ReturnType<typeof serve>> | undefined;

before(async () => {
  if (skip) return;
  moto = await startMoto();
  const key = 'plugin-key-for-this-test';
  callbacks = await serve({
    routes: controllerRoutes(createFakeController()),
    authorize: bearerAuthorizer(key),
  });
  const descriptor = {
    ...(await loadDescriptor(DESCRIPTOR_FILE)),
    runtime: 'process' as const,
    command: [process.execPath, '--import', 'tsx', MAIN],
  };
  launched = await launchPlugin({
    descriptor,
    controllerUrl: callbacks.url,
    apiKey: key,
    env: {
      SKYWAY_PLUGIN_CLOUD: 'aws-proc',
      SKYWAY_PLUGIN_NAMESPACE: 'default',
      SKYWAY_PLUGIN_CONFIG: JSON.stringify({
        regions: ['us-east-1'],
        endpoint: moto.endpoint,
        max_attempts: 2,
      }),
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  });
});

after(async () => {
  await launched?.stop();
  await callbacks?.close();
  await moto?.stop();
});

test('runs as its own process: create, rule, read back, delete', { skip, timeout: 90_000 }, async () => {
  const c = launched!.client;
  assert.equal(launched!.describe.name, 'aws');
  assert.equal((await c.checkCredentials({ deployment: { id: 'acct', namespace: 'default' } })).ok, true);
  const images = moto.calls.length;
  const dep = { id: 'acct', namespace: 'default' };
  const { DescribeImagesCommand, EC2Client } = await import('@aws-sdk/client-ec2');
  const direct = new EC2Client({
    region: 'us-east-1',
    endpoint: moto.direct,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const imageId = (await direct.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId;
  direct.destroy();
  const r = await c.createResource({
    deployment: dep,
    name: 'proc-vm',
    description: new TextEncoder().encode(JSON.stringify({ ImageId: imageId, InstanceType: 't3.micro' })),
  });
  assert.ok(moto.calls.length > images, 'the child reached moto through the endpoint');
  const rule = {
    name: 'web',
    targets: ['10.7.0.0/16'],
    direction: Direction.INBOUND,
    srcPort: -1,
    dstPort: 443,
    protocol: 6,
    tags: ['web'],
  };
  await c.addPermitListRules({ namespace: 'default', resource: r.uri, rules: [rule] });
  const live = await c.getPermitList({ namespace: 'default', resource: r.uri });
  assert.deepEqual(
    live.rules.map((x) => [x.name, x.targets, x.dstPort, x.protocol, x.tags]),
    [['web', ['10.7.0.0/16'], 443, 6, ['web']]],
  );
  await c.deleteResource({ deployment: dep, resource: r.uri });
  assert.deepEqual((await c.listResources({ deployments: [dep] })).resources, []);
});
