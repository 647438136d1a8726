import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalPath, credentialScope, signV4 } from './sigv4.js';

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
