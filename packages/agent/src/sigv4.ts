// AWS Signature Version 4: the agent re-signs requests with its own
// credentials (the caller's signature, made with a placeholder key, is dropped).
// SigV4a (ECDSA P-256, for multi-region endpoints) signs the same canonical
// request with a key derived from the same secret.
import { createECDH, createHash, createHmac, createPrivateKey, type KeyObject, sign } from 'node:crypto';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
export const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * The canonical path of a request sent with `path` on the wire. S3: the path as encoded once
 * (normalised to RFC 3986). Every other service: `.` and `..` segments and empty ones resolved,
 * then the wire path encoded once more (as AWS services do on their side).
 */
export function canonicalPath(path: string, s3: boolean): string {
  if (path === '') return '/';
  if (s3)
    return path
      .split('/')
      .map((seg) => rfc3986(safeDecode(seg)))
      .join('/');
  const segments: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(rfc3986(seg));
  }
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  return `/${segments.join('/')}${trailing}`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function canonicalQuery(query: string): string {
  if (!query) return '';
  return query
    .split('&')
    .filter((p) => p.length > 0)
    .map((p) => {
      const i = p.indexOf('=');
      const k = i < 0 ? p : p.slice(0, i);
      const v = i < 0 ? '' : p.slice(i + 1);
      return [
        rfc3986(safeDecode(k.replace(/\+/g, ' '))),
        rfc3986(safeDecode(v.replace(/\+/g, ' '))),
      ] as const;
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

const hmacAlgorithm = 'AWS4-HMAC-SHA256';
export const ecdsaAlgorithm = 'AWS4-ECDSA-P256-SHA256';

/** An S3 body in aws-chunked encoding whose chunks the caller signed (re-signed by s3-chunks.ts). */
export const streamingSigned = new RegExp(
  `^STREAMING-(${hmacAlgorithm}|${ecdsaAlgorithm})-PAYLOAD(-TRAILER)?$`,
);

/**
 * The payload hash to sign an S3 request with, from the caller's x-amz-content-sha256: a hash of
 * the body, an unsigned payload (also aws-chunked with trailing checksums) or chunks signed with
 * SigV4 or SigV4a (re-signed on the way) is kept as it is.
 */
export function s3PayloadHash(callerValue: string | undefined): string {
  if (callerValue === undefined) return 'UNSIGNED-PAYLOAD';
  if (
    /^[0-9a-f]{64}$/.test(callerValue) ||
    callerValue.startsWith('STREAMING-UNSIGNED-PAYLOAD') ||
    callerValue === 'UNSIGNED-PAYLOAD' ||
    streamingSigned.test(callerValue)
  )
    return callerValue;
  throw new RefusedRequest(
    `x-amz-content-sha256 ${callerValue}: the agent re-signs requests and cannot re-sign this payload; send a payload hash, an unsigned payload or signed chunks`,
  );
}

/** A request the agent will not forward as it is: answered 400 with this message. */
export class RefusedRequest extends Error {}

/**
 * Region and service from a caller's Authorization header, when it has one; SigV4a scopes have
 * no region (the x-amz-region-set header names the regions).
 */
export function credentialScope(
  authorization: string | undefined,
): { region?: string; service: string } | undefined {
  // Names only: they become the host the agent connects to (a "#", "?" or ":" would point it anywhere).
  const m =
    authorization &&
    /Credential=[^/]+\/\d{8}\/(?:([a-z0-9-]+)\/)?([a-z0-9-]+)\/aws4_request/.exec(authorization);
  return m ? { region: m[1], service: m[2]! } : undefined;
}

/** The query parameters that carry a presigned URL's signature. */
const queryAuthParams = new Set([
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
  'X-Amz-Region-Set',
]);

/**
 * A presigned URL's signature: the path without its parameters (AWS refuses a request signed in
 * the query and in the Authorization header the agent adds), and what they said, as the
 * Authorization header would say it, and the region set.
 */
export function queryAuth(
  path: string,
): { path: string; authorization?: string; regionSet?: string } | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  const kept: string[] = [];
  const found = new Map<string, string>();
  for (const p of path.slice(q + 1).split('&')) {
    const i = p.indexOf('=');
    const name = i < 0 ? p : p.slice(0, i);
    if (queryAuthParams.has(name)) found.set(name, safeDecode(i < 0 ? '' : p.slice(i + 1)));
    else kept.push(p);
  }
  if (found.size === 0) return undefined;
  const rest = kept.join('&');
  const credential = found.get('X-Amz-Credential');
  return {
    path: path.slice(0, q) + (rest ? `?${rest}` : ''),
    authorization: credential && `${found.get('X-Amz-Algorithm') ?? hmacAlgorithm} Credential=${credential}`,
    regionSet: found.get('X-Amz-Region-Set'),
  };
}

/** Signed with SigV4a: by the caller's Authorization header or its signed chunks. */
export function isSigV4a(authorization: string | undefined, contentSha256: string | undefined): boolean {
  return (
    authorization?.startsWith(ecdsaAlgorithm) === true ||
    contentSha256?.startsWith(`STREAMING-${ecdsaAlgorithm}`) === true
  );
}

/** The key SigV4 signs with for one day (YYYYMMDD), region and service. */
export function signingKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), service), 'aws4_request');
}

/** P-256's group order less 2: a derived scalar must not exceed it (then 1 is added). */
const p256OrderMinus2 = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551') - 2n;
const ecdsaKeys = new Map<string, KeyObject>();

/**
 * The SigV4a key of a pair of credentials: HMAC-SHA256 in counter mode (NIST SP 800-108) over
 * the access key id, keyed with "AWS4A" + secret, until the result is a valid P-256 scalar.
 */
export function ecdsaKey(accessKeyId: string, secretAccessKey: string): KeyObject {
  const cacheKey = `${accessKeyId}\n${secretAccessKey}`;
  const cached = ecdsaKeys.get(cacheKey);
  if (cached) return cached;
  for (let counter = 1; counter <= 254; counter++) {
    const input = Buffer.concat([
      Buffer.from([0, 0, 0, 1]),
      Buffer.from(`${ecdsaAlgorithm}\0${accessKeyId}`, 'latin1'),
      Buffer.from([counter, 0, 0, 1, 0]),
    ]);
    const candidate = BigInt(
      `0x${createHmac('sha256', `AWS4A${secretAccessKey}`).update(input).digest('hex')}`,
    );
    if (candidate > p256OrderMinus2) continue;
    const d = Buffer.from((candidate + 1n).toString(16).padStart(64, '0'), 'hex');
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(d);
    const pub = ecdh.getPublicKey();
    const b64 = (b: Buffer) => b.toString('base64url');
    const key = createPrivateKey({
      key: { kty: 'EC', crv: 'P-256', d: b64(d), x: b64(pub.subarray(1, 33)), y: b64(pub.subarray(33)) },
      format: 'jwk',
    });
    // Rotated secrets make new keys; the few services of an agent need a handful.
    if (ecdsaKeys.size >= 16) ecdsaKeys.delete(ecdsaKeys.keys().next().value!);
    ecdsaKeys.set(cacheKey, key);
    return key;
  }
  throw new Error('no SigV4a key can be derived from these credentials');
}

/** SigV4 signatures (hex HMAC) for one day (YYYYMMDD), region and service. */
export function hmacSigner(secretAccessKey: string, date: string, region: string, service: string) {
  const key = signingKey(secretAccessKey, date, region, service);
  return (toSign: string) => hmac(key, toSign).toString('hex');
}

/** SigV4a signatures (hex DER ECDSA over SHA-256). */
export function ecdsaSigner(accessKeyId: string, secretAccessKey: string) {
  const key = ecdsaKey(accessKeyId, secretAccessKey);
  return (toSign: string) => sign('sha256', Buffer.from(toSign, 'latin1'), key).toString('hex');
}

/** What a signature was made with: the body's chunks of an S3 streaming upload chain to it. */
export interface Signed {
  signature: string;
  /** AWS4-HMAC-SHA256 or AWS4-ECDSA-P256-SHA256. */
  algorithm: string;
  amzDate: string;
  scope: string;
  /** Signs a string to sign with the request's key: hex HMAC (SigV4) or hex DER ECDSA (SigV4a). */
  sign(toSign: string): string;
}

/**
 * Signs a request in place: sets x-amz-date, x-amz-content-sha256 (S3),
 * x-amz-security-token and authorization on `headers` (lowercase keys).
 */
export function signV4(opts: {
  method: string;
  host: string;
  /** Path and query as sent, e.g. "/a/b?x=1". */
  path: string;
  headers: Record<string, string | string[] | number | undefined>;
  /** The body, or the payload hash as it is (UNSIGNED-PAYLOAD, a SHA-256 in hex, ...). */
  body: Buffer | string;
  region: string;
  service: string;
  credentials: AwsCredentials;
  /** Sign with SigV4a for this x-amz-region-set ("*", or regions separated by commas). */
  regionSet?: string;
  now?: Date;
}): Signed {
  const h = opts.headers;
  for (const k of ['authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256'])
    delete h[k];
  const amzDate = (opts.now ?? new Date()).toISOString().replace(/[:-]|\.\d{3}/g, '');
  const date = amzDate.slice(0, 8);
  const payloadHash = typeof opts.body === 'string' ? opts.body : sha256(opts.body);
  h.host = opts.host;
  h['x-amz-date'] = amzDate;
  if (opts.credentials.sessionToken) h['x-amz-security-token'] = opts.credentials.sessionToken;
  const s3 = opts.service === 's3';
  if (s3) h['x-amz-content-sha256'] = payloadHash;
  const ecdsa = opts.regionSet !== undefined;
  if (ecdsa) h['x-amz-region-set'] = opts.regionSet;
  else delete h['x-amz-region-set'];
  const signed = Object.keys(h)
    .map((k) => k.toLowerCase())
    .filter((k) => k === 'host' || k === 'content-type' || k.startsWith('x-amz-'))
    .sort();
  const canonicalHeaders = signed
    .map((k) => {
      const v = h[k];
      const value = Array.isArray(v) ? v.join(',') : String(v);
      return `${k}:${value.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const q = opts.path.indexOf('?');
  const path = q < 0 ? opts.path : opts.path.slice(0, q);
  const query = q < 0 ? '' : opts.path.slice(q + 1);
  const canonical = [
    opts.method.toUpperCase(),
    canonicalPath(path, s3),
    canonicalQuery(query),
    canonicalHeaders,
    signed.join(';'),
    payloadHash,
  ].join('\n');
  const { accessKeyId, secretAccessKey } = opts.credentials;
  const algorithm = ecdsa ? ecdsaAlgorithm : hmacAlgorithm;
  const scope = ecdsa
    ? `${date}/${opts.service}/aws4_request`
    : `${date}/${opts.region}/${opts.service}/aws4_request`;
  const signWith = ecdsa
    ? ecdsaSigner(accessKeyId, secretAccessKey)
    : hmacSigner(secretAccessKey, date, opts.region, opts.service);
  const signature = signWith([algorithm, amzDate, scope, sha256(canonical)].join('\n'));
  h.authorization = `${algorithm} Credential=${accessKeyId}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`;
  return { signature, algorithm, amzDate, scope, sign: signWith };
}
