// What glide's Go code puts on the wire and how it reads answers, for tests.
// Requests: net/http's HTTP/1.1 client (Host, User-Agent, Content-Length,
// Accept-Encoding, in that order; no Content-Type, no Authorization) with
// bodies from encoding/json. Answers: decoded into the Go structs' JSON names
// and types, strictly (an unknown key fails here, although Go would ignore it,
// so that a wrong field name cannot pass unnoticed).
import { connect } from 'node:net';

/** encoding/json's Marshal: no spaces, and <, >, &, U+2028, U+2029 escaped. */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * The bytes net/http writes for http.NewRequest(method, url, body) and client.Do.
 * A nil body on POST/PUT/PATCH still sends "Content-Length: 0"; on GET/DELETE none.
 */
export function goRequest(method: string, path: string, body: string | undefined, host = '{{host}}'): string {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${host}`, 'User-Agent: Go-http-client/1.1'];
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  else if (['POST', 'PUT', 'PATCH'].includes(method)) lines.push('Content-Length: 0');
  lines.push('Accept-Encoding: gzip');
  return `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Writes `bytes` as they are to a TCP port or a Unix socket and reads one
 * HTTP/1.1 response. Hand-written because Node's HTTP client would add its
 * own headers; only Content-Length framing is needed (Fastify does not chunk
 * these answers) and anything else fails loudly.
 */
export function sendRaw(target: { port: number; host?: string } | { path: string }, bytes: string) {
  return new Promise<RawResponse>((resolve, reject) => {
    const sock = 'path' in target ? connect(target.path) : connect(target.port, target.host ?? '127.0.0.1');
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('no complete answer within 120 s'));
    }, 120_000);
    const finish = (err: Error | undefined, res?: RawResponse) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(res!);
    };
    sock.on('error', (e) => finish(e));
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...headerLines] = buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of headerLines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      if (headers['transfer-encoding']) return finish(new Error('chunked answers are not expected'));
      const length = Number(headers['content-length'] ?? 0);
      if (buf.length < end + 4 + length) return;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '')?.[1]);
      finish(undefined, { status, headers, body: buf.subarray(end + 4, end + 4 + length).toString('utf8') });
    });
    sock.write(bytes);
  });
}

// ---- Go types, as glide declares them ----

export type GoType =
  | 'string'
  | 'int32'
  | { ptr: GoType }
  | { slice: GoType }
  | { map: GoType }
  | { struct: string; fields: Record<string, GoType>; untagged?: boolean };

const stringSlice: GoType = { slice: 'string' };
/** paragliderpb.PermitListRule (protoc-gen-go json tags). */
export const PermitListRule: GoType = {
  struct: 'PermitListRule',
  fields: {
    name: 'string',
    targets: stringSlice,
    direction: 'int32',
    src_port: 'int32',
    dst_port: 'int32',
    protocol: 'int32',
    tags: stringSlice,
  },
};
/** tagservicepb.TagMapping. */
export const TagMapping: GoType = {
  struct: 'TagMapping',
  fields: { name: 'string', child_tags: stringSlice, uri: { ptr: 'string' }, ip: { ptr: 'string' } },
};
/** config.CloudDeployment: no json tags, so Go matches the keys Name and Deployment case-insensitively. */
export const CloudDeployment: GoType = {
  struct: 'CloudDeployment',
  fields: { Name: 'string', Deployment: 'string' },
  untagged: true,
};

/** json.Unmarshal into `type`; throws as Go would (type mismatch), and on unknown keys. */
export function goDecode(type: GoType, value: unknown, path = '$'): unknown {
  const fail = (what: string) => {
    throw new Error(`${path}: ${what}, got ${JSON.stringify(value)}`);
  };
  if (value === null) return null; // Go leaves the zero value
  if (type === 'string') return typeof value === 'string' ? value : fail('cannot unmarshal into string');
  if (type === 'int32') {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31)
      fail('cannot unmarshal into int32');
    return value;
  }
  if ('ptr' in type) return goDecode(type.ptr, value, path);
  if ('slice' in type) {
    if (!Array.isArray(value)) fail('cannot unmarshal into a slice');
    return (value as unknown[]).map((v, i) => goDecode(type.slice, v, `${path}[${i}]`));
  }
  if (typeof value !== 'object' || Array.isArray(value))
    fail(`cannot unmarshal into ${'map' in type ? 'a map' : type.struct}`);
  const obj = value as Record<string, unknown>;
  if ('map' in type)
    return Object.fromEntries(
      Object.entries(obj).map(([k, v]) => [k, goDecode(type.map, v, `${path}.${k}`)]),
    );
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const field = Object.keys(type.fields).find((f) =>
      type.untagged ? f.toLowerCase() === k.toLowerCase() : f === k,
    );
    if (!field) throw new Error(`${path}: "${k}" is not a field of ${type.struct}`);
    out[field] = goDecode(type.fields[field]!, v, `${path}.${k}`);
  }
  return out;
}
