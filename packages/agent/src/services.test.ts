import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { renewAt } from './identity.js';
import { type ForwardContext, Service } from './services.js';
import { RefusedRequest } from './sigv4.js';

const ctx = (): ForwardContext => ({ method: 'GET', path: '/x?a=1', headers: {} });

test('basic, bearer and token credentials from values, files and the environment', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skyway-agent-svc-'));
  try {
    await writeFile(join(dir, 'pw'), 'file-secret\n');
    process.env.SKYWAY_TEST_TOKEN = 'env-token';
    const basic = new Service({
      name: 'ci',
      type: 'jenkins',
      url: 'http://10.0.0.1:8080/jenkins/',
      credentials: { type: 'basic', username: 'robot', passwordFile: join(dir, 'pw') },
    });
    const c = ctx();
    const target = basic.authorize(c);
    assert.equal(c.headers.authorization, `Basic ${Buffer.from('robot:file-secret').toString('base64')}`);
    assert.deepEqual(target, {
      https: false,
      hostname: '10.0.0.1',
      port: 8080,
      basePath: '/jenkins',
      host: '10.0.0.1:8080',
    });
    const bearer = new Service({
      name: 'argo',
      type: 'argocd',
      url: 'https://argo.local',
      credentials: { type: 'bearer', tokenEnv: 'SKYWAY_TEST_TOKEN' },
    });
    const c2 = ctx();
    bearer.authorize(c2);
    assert.equal(c2.headers.authorization, 'Bearer env-token');
    const token = new Service({
      name: 'api',
      type: 'x-api',
      url: 'http://api',
      credentials: { type: 'token', header: 'X-Api-Key', prefix: '', token: 'k1' },
    });
    const c3 = ctx();
    token.authorize(c3);
    assert.equal(c3.headers['x-api-key'], 'k1');
    // A secret spanning lines would end the header early: refused, naming the secret, not showing it.
    await writeFile(join(dir, 'two-lines'), 'line-one\nX-Injected: yes\n');
    const twoLines = new Service({
      name: 'ci2',
      type: 'jenkins',
      url: 'http://10.0.0.1:8080/',
      credentials: { type: 'bearer', tokenFile: join(dir, 'two-lines') },
    });
    assert.throws(
      () => twoLines.authorize(ctx()),
      (e: Error) => /ci2.*token: contains a line break/.test(e.message) && !e.message.includes('line-one'),
    );
    assert.throws(
      () =>
        new Service({
          name: 'api2',
          type: 'x-api',
          url: 'http://api',
          credentials: { type: 'token', header: 'X Api: 1', token: 'k1' },
        }),
      /api2.*credentials.header "x api: 1" is not a valid header name/,
    );
    for (const s of [basic, bearer, token, twoLines]) s.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('kubernetes from a kubeconfig: server, token file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skyway-agent-kube-'));
  try {
    await writeFile(join(dir, 'token'), 'sa-token');
    await writeFile(
      join(dir, 'config'),
      stringify({
        clusters: [{ name: 'c', cluster: { server: 'http://10.1.0.1:6443' } }],
        users: [{ name: 'u', user: { tokenFile: 'token' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    const s = new Service({
      name: 'prod',
      type: 'kubernetes',
      credentials: { type: 'kubeconfig', path: join(dir, 'config') },
    });
    const c = ctx();
    assert.equal(s.authorize(c).port, 6443);
    assert.equal(c.headers.authorization, 'Bearer sa-token');
    s.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** An aws service signing with the agent's test credentials (AKIDAGENT). */
const awsService = (
  name: string,
  opts: { url?: string; region?: string; service?: string; sessionToken?: string } = {},
) => {
  const { url, ...creds } = opts;
  return new Service({
    name,
    type: 'aws',
    ...(url ? { url } : {}),
    credentials: { type: 'aws', accessKeyId: 'AKIDAGENT', secretAccessKey: 'agent-secret', ...creds },
  });
};

test('aws re-signs with the agent credentials, region and service from the caller signature', () => {
  const s = awsService('acct');
  const c: ForwardContext = {
    method: 'POST',
    path: '/',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    callerAuthorization:
      'AWS4-HMAC-SHA256 Credential=PLACEHOLDER/20240101/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=0',
  };
  const target = s.authorize(c, Buffer.from('Action=DescribeVpcs&Version=2016-11-15'));
  assert.equal(target.host, 'ec2.eu-west-1.amazonaws.com');
  assert.match(
    String(c.headers.authorization),
    /^AWS4-HMAC-SHA256 Credential=AKIDAGENT\/\d{8}\/eu-west-1\/ec2\/aws4_request/,
  );
  assert.ok(!String(c.headers.authorization).includes('agent-secret'));
  s.close();
});

test('aws s3: the caller payload hash is kept (unsigned, hashed, aws-chunked, signed chunks re-signed); others are refused', () => {
  const s = awsService('store', { region: 'eu-west-1', service: 's3' });
  const put = (sha: string | undefined): ForwardContext => ({
    method: 'PUT',
    path: '/bucket/key',
    headers: sha === undefined ? {} : { 'x-amz-content-sha256': sha, 'content-encoding': 'aws-chunked' },
  });
  const hex = 'a'.repeat(64);
  for (const [given, signed] of [
    [undefined, 'UNSIGNED-PAYLOAD'],
    ['UNSIGNED-PAYLOAD', 'UNSIGNED-PAYLOAD'],
    ['STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'],
    [hex, hex],
    ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'],
    ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER'],
  ] as const) {
    const c = put(given);
    s.authorize(c);
    assert.equal(c.headers['x-amz-content-sha256'], signed);
    assert.match(String(c.headers.authorization), /Credential=AKIDAGENT\/\d{8}\/eu-west-1\/s3\//);
    // Only a body whose chunks the caller signed is re-signed on the way.
    assert.equal(c.bodySigner !== undefined, String(given).startsWith('STREAMING-AWS4-HMAC'), given);
  }
  assert.throws(
    () => s.authorize(put('STREAMING-AWS4-RSA-PAYLOAD')),
    (e: Error) =>
      e instanceof RefusedRequest &&
      /STREAMING-AWS4-RSA-PAYLOAD: the agent re-signs requests and cannot re-sign this payload/.test(
        e.message,
      ),
  );
  s.close();
});

test('aws: a presigned URL is signed again in headers, its signature taken out of the query', () => {
  const s = awsService('store');
  const c: ForwardContext = {
    method: 'GET',
    path: '/bucket/a%20b?versionId=3&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=PLACEHOLDER%2F20240101%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=abc&x-id=GetObject',
    headers: {},
  };
  assert.equal((s.authorize(c) as { host: string }).host, 's3.eu-west-1.amazonaws.com');
  assert.equal(c.path, '/bucket/a%20b?versionId=3&x-id=GetObject');
  assert.match(
    String(c.headers.authorization),
    /^AWS4-HMAC-SHA256 Credential=AKIDAGENT\/\d{8}\/eu-west-1\/s3\//,
  );
  // SigV4a: the region set comes from the query too.
  const d: ForwardContext = {
    method: 'GET',
    path: '/key?X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256&X-Amz-Credential=P%2F20240101%2Fs3%2Faws4_request&X-Amz-Region-Set=us-east-1%2Cus-west-2&X-Amz-Signature=30',
    headers: {},
  };
  const mrap = awsService('mrap', { url: 'https://mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com' });
  mrap.authorize(d);
  assert.equal(d.path, '/key');
  assert.equal(d.headers['x-amz-region-set'], 'us-east-1,us-west-2');
  assert.match(String(d.headers.authorization), /^AWS4-ECDSA-P256-SHA256 Credential=AKIDAGENT\/\d{8}\/s3\//);
  for (const x of [s, mrap]) x.close();
});

test('aws: a SigV4a caller is re-signed with SigV4a (scope without region, its region set, its chunks)', () => {
  const config = (region?: string, url?: string) => awsService('mrap', { region, url, service: 's3' });
  const sigv4a = (headers: Record<string, string>): ForwardContext => ({
    method: 'PUT',
    path: '/key',
    headers,
    callerAuthorization:
      'AWS4-ECDSA-P256-SHA256 Credential=PLACEHOLDER/20240101/s3/aws4_request, SignedHeaders=host;x-amz-region-set, Signature=30',
  });
  const mrap = config(undefined, 'https://mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com');
  const c = sigv4a({
    'x-amz-region-set': 'us-east-1, eu-west-1',
    'x-amz-content-sha256': 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER',
  });
  const target = mrap.authorize(c) as { host: string };
  assert.equal(target.host, 'mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com');
  assert.match(
    String(c.headers.authorization),
    /^AWS4-ECDSA-P256-SHA256 Credential=AKIDAGENT\/\d{8}\/s3\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-region-set, Signature=30[0-9a-f]+$/,
  );
  assert.equal(c.headers['x-amz-region-set'], 'us-east-1,eu-west-1');
  assert.ok(c.bodySigner, 'the signed chunks are re-signed');
  // Without a region set the configured region is the set, and the host follows it.
  const regional = config('eu-west-1');
  const d = sigv4a({});
  assert.equal((regional.authorize(d) as { host: string }).host, 's3.eu-west-1.amazonaws.com');
  assert.equal(d.headers['x-amz-region-set'], 'eu-west-1');
  assert.throws(
    () => config().authorize(sigv4a({})),
    /a SigV4a signature names no region to send to; configure the service's url/,
  );
  assert.throws(
    () => regional.authorize(sigv4a({ 'x-amz-region-set': 'eu-west-1\r\nx: y' })),
    (e: Error) =>
      e instanceof RefusedRequest && /x-amz-region-set .* is not "\*" or a list of regions/.test(e.message),
  );
  for (const x of [mrap, regional]) x.close();
});

test('aws: a caller signature cannot point the agent at another host', () => {
  const s = awsService('acct', { sessionToken: 'st' });
  for (const service of ['10.0.0.5:8443?', 'attacker.example#', 'x@attacker.example']) {
    const c: ForwardContext = {
      method: 'GET',
      path: '/',
      headers: {},
      callerAuthorization: `AWS4-HMAC-SHA256 Credential=P/20240101/eu-west-1/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    };
    assert.throws(() => s.authorize(c), /neither configured nor in the caller's signature/);
    assert.equal(c.headers.authorization, undefined);
  }
  s.close();
});

test('rejects unknown types and bad names; renews two thirds into the certificate life', () => {
  assert.throws(() => new Service({ name: 'x', type: 'ftp', url: 'http://a' }), /type must be/);
  assert.throws(() => new Service({ name: 'Bad Name', type: 'x-a', url: 'http://a' }), /name/);
  const issued = Date.parse('2026-01-01T00:00:00Z');
  const at = renewAt({ notBefore: issued - 5 * 60_000, notAfter: issued + 30 * 86_400_000 });
  assert.equal(at, issued + 20 * 86_400_000);
});
