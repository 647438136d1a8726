// AWS Signature Version 4: the agent re-signs requests with its own
// credentials (the caller's signature, made with a placeholder key, is dropped).
import { createHash, createHmac } from 'node:crypto';

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

/** An S3 body in aws-chunked encoding whose chunks the caller signed (re-signed by s3-chunks.ts). */
export const streamingSigned = /^STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER)?$/;

/**
 * The payload hash to sign an S3 request with, from the caller's x-amz-content-sha256: a hash of
 * the body, an unsigned payload (also aws-chunked with trailing checksums) or chunks signed with
 * SigV4 (re-signed on the way) is kept as it is. Chunks signed with SigV4a (ECDSA) are refused.
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
    `x-amz-content-sha256 ${callerValue}: the agent re-signs requests with SigV4 and cannot re-sign this payload; send an unsigned payload or chunks signed with SigV4`,
  );
}

/** A request the agent will not forward as it is: answered 400 with this message. */
export class RefusedRequest extends Error {}

/** Region and service from a caller's SigV4 Authorization header, when it has one. */
export function credentialScope(
  authorization: string | undefined,
): { region: string; service: string } | undefined {
  // Names only: they become the host the agent connects to (a "#", "?" or ":" would point it anywhere).
  const m =
    authorization && /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request/.exec(authorization);
  return m ? { region: m[1]!, service: m[2]! } : undefined;
}

/** The key SigV4 signs with for one day (YYYYMMDD), region and service. */
export function signingKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), service), 'aws4_request');
}

/** What a signature was made with: the body's chunks of an S3 streaming upload chain to it. */
export interface Signed {
  signature: string;
  signingKey: Buffer;
  amzDate: string;
  scope: string;
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
  const scope = `${date}/${opts.region}/${opts.service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const kSigning = signingKey(opts.credentials.secretAccessKey, date, opts.region, opts.service);
  const signature = hmac(kSigning, toSign).toString('hex');
  h.authorization = `AWS4-HMAC-SHA256 Credential=${opts.credentials.accessKeyId}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`;
  return { signature, signingKey: kSigning, amzDate, scope };
}
