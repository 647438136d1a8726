import assert from 'node:assert/strict';
import { createHash, createHmac, createPublicKey, verify } from 'node:crypto';
import { test } from 'node:test';
import { maxChunkBytes, S3ChunkSigner } from './s3-chunks.js';
import { ecdsaSigner, hmacSigner, RefusedRequest, type Signed, signingKey } from './sigv4.js';

// The example of the S3 documentation ("Signature Calculations for the Authorization Header:
// Transferring Payload in Multiple Chunks"): 66,560 bytes of "a" in a 64 KiB and a 1 KiB chunk,
// after the seed signature of its request.
const example: Signed = {
  signature: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
  algorithm: 'AWS4-HMAC-SHA256',
  sign: hmacSigner('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '20130524', 'us-east-1', 's3'),
  amzDate: '20130524T000000Z',
  scope: '20130524/us-east-1/s3/aws4_request',
};
const exampleSignatures = [
  'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
  '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
  'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
];
const callerSignature = 'f'.repeat(64);

/** An aws-chunked body with the given chunk sizes (then the final chunk) and signatures. */
function body(sizes: number[], signatures: string[], trailer = '') {
  let out = '';
  [...sizes, 0].forEach((n, i) => {
    out += `${n.toString(16)};chunk-signature=${signatures[i]}\r\n${'a'.repeat(n)}`;
    if (n > 0 || !trailer) out += '\r\n';
  });
  return Buffer.from(out + trailer, 'latin1');
}

/** Feeds `input` in pieces of `step` bytes; returns what the signer lets out. */
function resign(signer: S3ChunkSigner, input: Buffer, step: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; i += step) out.push(...signer.push(input.subarray(i, i + step)));
  return Buffer.concat(out);
}

test('re-signs the chunks of the S3 documentation example, in any split, keeping the length', () => {
  const sent = body([65536, 1024], [callerSignature, callerSignature, callerSignature]);
  const expected = body([65536, 1024], exampleSignatures);
  for (const step of [1, 7, 1000, 65536, sent.length]) {
    const signer = new S3ChunkSigner(example, false);
    const out = resign(signer, sent, step);
    assert.equal(out.length, sent.length, `step ${step}`);
    assert.ok(out.equals(expected), `step ${step}`);
    assert.ok(signer.done);
  }
});

test('signs the trailing headers after the final chunk', () => {
  const trailer = (sig: string) => `x-amz-checksum-crc32:sOO8/Q==\r\nx-amz-trailer-signature:${sig}\r\n\r\n`;
  const signer = new S3ChunkSigner(example, true);
  const sent = body([1024], [callerSignature, callerSignature], trailer(callerSignature));
  const out = resign(signer, sent, 100).toString('latin1');
  assert.ok(signer.done);
  assert.equal(out.length, sent.length);
  // The chunk signatures chain from the seed as without trailer; the trailer's from the final chunk's.
  const final = /\r\n0;chunk-signature=([0-9a-f]{64})\r\n/.exec(out)![1]!;
  const toSign = [
    'AWS4-HMAC-SHA256-TRAILER',
    example.amzDate,
    example.scope,
    final,
    createHash('sha256').update('x-amz-checksum-crc32:sOO8/Q==\n').digest('hex'),
  ].join('\n');
  const key = signingKey('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '20130524', 'us-east-1', 's3');
  const expected = createHmac('sha256', key).update(toSign).digest('hex');
  assert.ok(out.endsWith(`0;chunk-signature=${final}\r\n${trailer(expected)}`), out.slice(-200));
  assert.ok(!out.includes(callerSignature));
});

test('refuses what is not an aws-chunked body, saying what is wrong', () => {
  const cases: Array<[string, Buffer | string, RegExp]> = [
    ['plain bytes', 'hello\r\n', /chunk header that is not/],
    ['bare LF', `10;chunk-signature=${callerSignature}\n`, /not ended by CRLF/],
    ['no signature', '10\r\n', /chunk header that is not/],
    [
      'too large a chunk',
      `${(maxChunkBytes + 1).toString(16)};chunk-signature=${callerSignature}\r\n`,
      /chunk of 8388609 bytes; the agent re-signs chunks up to 8 MiB/,
    ],
    ['data longer than its size', `1;chunk-signature=${callerSignature}\r\nab\r\n`, /longer than its size/],
    [
      'bytes after the end',
      Buffer.concat([body([], [callerSignature]), Buffer.from('x')]),
      /after its final/,
    ],
    ['a header line without end', 'a'.repeat(5000), /line over 4 KiB/],
  ];
  for (const [what, input, message] of cases) {
    const signer = new S3ChunkSigner(example, false);
    assert.throws(
      () => signer.push(Buffer.isBuffer(input) ? input : Buffer.from(input)),
      (e: Error) => e instanceof RefusedRequest && message.test(e.message),
      what,
    );
  }
});

test('holds a chunk until it is complete', () => {
  const signer = new S3ChunkSigner(example, false);
  assert.equal(signer.push(Buffer.from(`400;chunk-signature=${callerSignature}\r\n`)).length, 0);
  assert.equal(signer.push(Buffer.alloc(1000, 'a')).length, 0);
  const out = Buffer.concat(signer.push(Buffer.from(`${'a'.repeat(24)}\r\n`)));
  assert.equal(out.length, `400;chunk-signature=${callerSignature}\r\n`.length + 1024 + 2);
  assert.ok(!signer.done);
});

test('SigV4a: re-signs chunks and trailer with ECDSA, padded to 144 characters, chained as aws-c-auth builds them', () => {
  // The key of the documentation's credentials, by the public point aws-c-auth's tests give for it.
  const publicKey = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: Buffer.from('18b7d04643359f6ec270dcbab8dce6d169d66ddc9778c75cfb08dfdb701637ab', 'hex').toString(
        'base64url',
      ),
      y: Buffer.from('fa36b35e4fe67e3112261d2e17a956ef85b06e44712d2850bcd3c2161e9993f2', 'hex').toString(
        'base64url',
      ),
    },
    format: 'jwk',
  });
  const seed = `30${'1'.repeat(140)}`;
  const signed: Signed = {
    signature: seed,
    algorithm: 'AWS4-ECDSA-P256-SHA256',
    sign: ecdsaSigner('AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'),
    amzDate: '20130524T000000Z',
    scope: '20130524/s3/aws4_request',
  };
  const caller = `${'c'.repeat(142)}**`;
  const trailer = (sig: string) =>
    `first:1st\r\nsecond:2nd\r\nthird:3rd\r\nx-amz-trailer-signature:${sig}\r\n\r\n`;
  const sent = body([65536, 1024], [caller, caller, caller], trailer(caller));
  const signer = new S3ChunkSigner(signed, true);
  const out = resign(signer, sent, 4096).toString('latin1');
  assert.ok(signer.done);
  assert.equal(out.length, sent.length);
  assert.ok(!out.includes(caller));
  const signatures = [...out.matchAll(/(?:chunk-signature=|x-amz-trailer-signature:)([0-9a-f*]+)\r\n/g)].map(
    (m) => m[1]!,
  );
  assert.equal(signatures.length, 4);
  // The strings to sign of aws-c-auth's SigV4a chunk test: the hashes of the two chunks, then of none,
  // then of the trailing headers; each after the previous signature without its padding.
  const hashes = [
    'bf718b6f653bebc184e1479f1935b8da974d701b893afcf49e701f3e2f9f9c5a',
    '2edc986847e209b4016e141a6dc8716d3207350f416969382d431539bf292e4a',
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  ];
  let previous = seed;
  signatures.forEach((padded, i) => {
    assert.equal(padded.length, 144);
    const signature = padded.replace(/\*+$/, '');
    const toSign =
      i < 3
        ? `AWS4-ECDSA-P256-SHA256-PAYLOAD\n20130524T000000Z\n20130524/s3/aws4_request\n${previous}\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n${hashes[i]}`
        : `AWS4-ECDSA-P256-SHA256-TRAILER\n20130524T000000Z\n20130524/s3/aws4_request\n${previous}\n83d8f190334fb741bc8daf73c891689d320bd8017756bc730c540021ed48001f`;
    assert.ok(
      verify('sha256', Buffer.from(toSign), publicKey, Buffer.from(signature, 'hex')),
      `signature ${i}`,
    );
    previous = signature;
  });
});

test('SigV4a: a chunk signature of another width is refused (the body would change length)', () => {
  const signer = new S3ChunkSigner(
    { ...example, algorithm: 'AWS4-ECDSA-P256-SHA256', sign: ecdsaSigner('AKID', 'secret') },
    false,
  );
  assert.throws(
    () => signer.push(Buffer.from(`10;chunk-signature=${callerSignature}\r\n`)),
    /chunk header that is not "<hex size>;chunk-signature=<signature of 144 characters>"/,
  );
});
