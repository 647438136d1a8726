// npm run bench:aws — AWS API calls per Skyway operation, counted at the
// endpoint (moto behind a counting proxy): AWS throttles mutating calls per
// account, so calls per operation is what scales. Everything goes through the
// controller (REST -> rules/tags/connectivity -> the AWS plugin in-process).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { parseConfig, startController } from '@skyway/controller';
import { type AwsPlugin, createAwsPlugin, DESCRIPTOR_FILE } from '@skyway/plugin-aws';
import { startMoto, useDummyCredentials } from '@skyway/plugin-aws/testing';
import { createFakePlugin } from '@skyway/plugin-sdk/testing';

const SUBSCRIBERS = Number(process.env.SKYWAY_BENCH_SUBSCRIBERS ?? 100);
useDummyCredentials();
const moto = await startMoto();
const home = mkdtempSync(join(tmpdir(), 'skyway-bench-aws-'));
let aws: AwsPlugin | undefined;
const ctl = await startController({
  config: parseConfig(
    {
      listen: '127.0.0.1:0',
      poll_interval: 0,
      namespaces: {
        default: {
          clouds: {
            aws: {
              plugin: 'aws',
              config: { regions: ['us-east-1'], endpoint: moto.endpoint, max_attempts: 1 },
            },
            fake: { plugin: 'fake' },
          },
        },
      },
    },
    'bench',
    home,
  ),
  listen: false,
  builtinDescriptors: [DESCRIPTOR_FILE],
  inProcessPlugins: {
    aws: ({ cloud, config, controller }) => {
      aws = createAwsPlugin({ cloud, config, controller });
      return aws;
    },
    fake: ({ cloud, controller }) => createFakePlugin({ cloud, controller }),
  },
});

const call = async (method: string, url: string, body?: unknown) => {
  const res = await ctl.app.inject({
    method: method as 'GET',
    url,
    headers: { authorization: `Bearer ${ctl.adminToken}` },
    ...(body === undefined ? {} : { payload: body as object }),
  });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return JSON.parse(res.body || '{}');
};
const direct = new EC2Client({ region: 'us-east-1', endpoint: moto.direct });
const imageId = (await direct.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId;
const vm = (name: string) =>
  call('POST', '/api/v1/namespaces/default/clouds/aws/resources', {
    name,
    description: { ImageId: imageId, InstanceType: 't3.micro' },
  });
const rule = (name: string, tags: string[], port = 22) => ({
  name,
  direction: 'INBOUND',
  dst_port: port,
  protocol: 6,
  tags,
});

interface Row {
  op: string;
  calls: number;
  mutating: number;
  ms: number;
  detail: string;
}
const rows: Row[] = [];
const measure = async (op: string, fn: () => Promise<unknown>, per = 1) => {
  const mark = moto.calls.length;
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  const counts = moto.countSince(mark);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const mutating = Object.entries(counts)
    .filter(([a]) => !/^(Describe|Get)/.test(a))
    .reduce((a, [, n]) => a + n, 0);
  rows.push({
    op,
    calls: total / per,
    mutating: mutating / per,
    ms: ms / per,
    detail: Object.entries(counts)
      .sort(([, a], [, b]) => b - a)
      .map(([a, n]) => `${a}${n / per === 1 ? '' : ` x${+(n / per).toFixed(2)}`}`)
      .join(', '),
  });
};

try {
  await measure('resource create (first: VPC + subnet)', () => vm('first'));
  await measure('resource create', () => vm('second'));
  await measure('rule add (1 rule, 1 CIDR)', () =>
    call(
      'POST',
      '/api/v1/namespaces/default/clouds/aws/resources/second/rules',
      rule('ssh', ['10.1.2.3/32']),
    ),
  );
  await measure('rules add (5 rules, 10 CIDRs, one request)', () =>
    call(
      'POST',
      '/api/v1/namespaces/default/clouds/aws/resources/second/applyRules',
      Array.from({ length: 5 }, (_, i) => rule(`batch-${i}`, [`10.3.${i}.0/24`, `10.4.${i}.0/24`], 8000 + i)),
    ),
  );
  await measure('rule delete', () =>
    call('DELETE', '/api/v1/namespaces/default/clouds/aws/resources/second/rules/ssh'),
  );

  // tag fan-out: SUBSCRIBERS instances each with a rule naming tag "peers"; then one member joins
  await call('PUT', '/api/v1/tags/peers', { child_tags: ['10.9.0.1/32'] });
  for (let i = 0; i < SUBSCRIBERS; i++) {
    await vm(`sub-${i}`);
    await call(
      'POST',
      `/api/v1/namespaces/default/clouds/aws/resources/sub-${i}/rules`,
      rule('from-peers', ['peers'], 443),
    );
  }
  await measure(
    `tag fan-out to ${SUBSCRIBERS} subscribers (per subscriber)`,
    () => call('POST', '/api/v1/tags/peers/applyMembers', { child_tags: ['10.9.0.2/32'] }),
    SUBSCRIBERS,
  );

  // cross-cloud: the first rule naming a VM of the fake cloud sets up the VPN on the AWS side
  const b = await call('POST', '/api/v1/namespaces/default/clouds/fake/resources', {
    name: 'far',
    description: { size: 's' },
  });
  await measure('cross-cloud connect (+ the rule)', () =>
    call('POST', '/api/v1/namespaces/default/clouds/aws/resources/first/rules', rule('from-far', [b.tag])),
  );
  await measure('connection delete', () => call('DELETE', '/api/v1/connections/default/aws/fake'));

  const pad = (s: string, n: number) => s.padEnd(n);
  console.log(
    `AWS API calls per operation, counted at the endpoint (moto 5.2.1, ${SUBSCRIBERS} subscribers)\n`,
  );
  console.log(`${pad('operation', 52)} ${pad('calls', 7)} ${pad('mutating', 9)} ${pad('ms', 8)} calls`);
  console.log(`${'-'.repeat(52)} ${'-'.repeat(7)} ${'-'.repeat(9)} ${'-'.repeat(8)} ${'-'.repeat(40)}`);
  for (const r of rows) {
    console.log(
      `${pad(r.op, 52)} ${pad(String(+r.calls.toFixed(2)), 7)} ${pad(String(+r.mutating.toFixed(2)), 9)} ${pad(r.ms.toFixed(1), 8)} ${r.detail}`,
    );
  }
} finally {
  await ctl.close();
  aws?.close();
  direct.destroy();
  await moto.stop();
  rmSync(home, { recursive: true, force: true });
}
