// AWS Signature Version 4: the agent re-signs requests with its own
// credentials (the caller's signature, made with a placeholder key, is dropped).
import { createHash, createHmac } from 'node:crypto';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function canonicalPath(path: string, s3: boolean): string {
  if (path === '') return '/';
  const segments = path.split('/').map((seg) => {
    const decoded = safeDecode(seg);
    return s3 ? rfc3986(decoded) : rfc3986(rfc3986(decoded));
  });
  return segments.join('/');
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

/** Region and service from a caller's SigV4 Authorization header, when it has one. */
export function credentialScope(
  authorization: string | undefined,
): { region: string; service: string } | undefined {
  // Names only: they become the host the agent connects to (a "#", "?" or ":" would point it anywhere).
  const m =
    authorization && /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request/.exec(authorization);
  return m ? { region: m[1]!, service: m[2]! } : undefined;
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
  /** The body, or 'UNSIGNED-PAYLOAD'. */
  body: Buffer | 'UNSIGNED-PAYLOAD';
  region: string;
  service: string;
  credentials: AwsCredentials;
  now?: Date;
}): void {
  const h = opts.headers;
  for (const k of ['authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256'])
    delete h[k];
  const amzDate = (opts.now ?? new Date()).toISOString().replace(/[:-]|\.\d{3}/g, '');
  const date = amzDate.slice(0, 8);
  const payloadHash = opts.body === 'UNSIGNED-PAYLOAD' ? opts.body : sha256(opts.body);
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
  const kDate = hmac(`AWS4${opts.credentials.secretAccessKey}`, date);
  const kSigning = hmac(hmac(hmac(kDate, opts.region), opts.service), 'aws4_request');
  const signature = createHmac('sha256', kSigning).update(toSign).digest('hex');
  h.authorization = `AWS4-HMAC-SHA256 Credential=${opts.credentials.accessKeyId}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`;
}
