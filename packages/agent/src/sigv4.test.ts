import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { test } from 'node:test';
import { canonicalPath, credentialScope, ecdsaKey, sha256, signV4 } from './sigv4.js';

test('matches the AWS documentation example (IAM ListUsers)', () => {
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
  };
  signV4({
    method: 'GET',
    host: 'iam.amazonaws.com',
    path: '/?Action=ListUsers&Version=2010-05-08',
    headers,
    body: Buffer.alloc(0),
    region: 'us-east-1',
    service: 'iam',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    now: new Date('2015-08-30T12:36:00Z'),
  });
  assert.equal(
    headers.authorization,
    'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
  );
});

test('reads region and service from a caller signature', () => {
  assert.deepEqual(
    credentialScope('AWS4-HMAC-SHA256 Credential=X/20240101/eu-west-1/ec2/aws4_request, SignedHeaders=host'),
    { region: 'eu-west-1', service: 'ec2' },
  );
});

test('canonical paths: resolved and encoded again for AWS services, encoded once for S3', () => {
  // Cases of the AWS SigV4 test suite (get-relative-relative, get-slash-dot-slash, get-slashes, get-space,
  // get-unreserved, get-utf8), then a path that arrives encoded once.
  const cases: Array<[string, string]> = [
    ['/example1/example2/../..', '/'],
    ['/./', '/'],
    ['//example//', '/example/'],
    ['/example space/', '/example%20space/'],
    [
      '/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
      '/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
    ],
    ['/\u1234', '/%E1%88%B4'],
    ['/functions/my%3Afn/invocations', '/functions/my%253Afn/invocations'],
    ['', '/'],
  ];
  for (const [path, canonical] of cases) assert.equal(canonicalPath(path, false), canonical, path);
  assert.equal(canonicalPath('/bucket/a%20b/../c', true), '/bucket/a%20b/../c');
  assert.equal(canonicalPath('/bucket/a b', true), '/bucket/a%20b');
});

test('SigV4a: derives the key aws-c-auth derives, and signs the canonical request with it', () => {
  // The public point aws-c-auth's tests give for the documentation's credentials.
  const jwk = createPublicKey(
    ecdsaKey('AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'),
  ).export({
    format: 'jwk',
  });
  assert.equal(
    Buffer.from(jwk.x!, 'base64url').toString('hex'),
    '18b7d04643359f6ec270dcbab8dce6d169d66ddc9778c75cfb08dfdb701637ab',
  );
  assert.equal(
    Buffer.from(jwk.y!, 'base64url').toString('hex'),
    'fa36b35e4fe67e3112261d2e17a956ef85b06e44712d2850bcd3c2161e9993f2',
  );
  const headers: Record<string, string> = { 'x-amz-storage-class': 'REDUCED_REDUNDANCY' };
  const signed = signV4({
    method: 'PUT',
    host: 's3.amazonaws.com',
    path: '/examplebucket/chunkObject.txt',
    headers,
    body: 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD',
    region: '',
    service: 's3',
    regionSet: 'us-east-1',
    credentials: {
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    },
    now: new Date('2013-05-24T00:00:00Z'),
  });
  const canonical = [
    'PUT',
    '/examplebucket/chunkObject.txt',
    '',
    'host:s3.amazonaws.com',
    'x-amz-content-sha256:STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD',
    'x-amz-date:20130524T000000Z',
    'x-amz-region-set:us-east-1',
    'x-amz-storage-class:REDUCED_REDUNDANCY',
    '',
    'host;x-amz-content-sha256;x-amz-date;x-amz-region-set;x-amz-storage-class',
    'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD',
  ].join('\n');
  const toSign = `AWS4-ECDSA-P256-SHA256\n20130524T000000Z\n20130524/s3/aws4_request\n${sha256(canonical)}`;
  const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
  assert.ok(verify('sha256', Buffer.from(toSign), publicKey, Buffer.from(signed.signature, 'hex')));
  assert.equal(
    headers.authorization,
    `AWS4-ECDSA-P256-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-region-set;x-amz-storage-class, Signature=${signed.signature}`,
  );
  assert.deepEqual(credentialScope(headers.authorization), { region: undefined, service: 's3' });
});
