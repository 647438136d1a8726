// Just enough HTTP/1.1 to relay a connection byte for byte: where a message
// head ends, what it says, and where its body ends (length, chunked, none or
// until close). Bodies are never copied or re-encoded, only observed.
import { METHODS } from 'node:http';

export interface Head {
  /** Request: method; response: undefined. */
  method?: string;
  /** Request target as sent. */
  target?: string;
  status?: number;
  version: string;
  /** Header lines in order, names lower-cased. */
  headers: Array<[string, string]>;
}

export class HttpParseError extends Error {}

export const maxHeadBytes = 64 * 1024;

// Written by hand (no library follows boundaries without copying bodies), as strict as RFC 9112
// and Node's llhttp: whatever the two could read differently is refused, never forwarded (a
// differential fuzz test against Node's parser keeps it so: h1-fuzz.test.ts).

/**
 * Index just past the head's blank line in `b` (from `from`), or -1 while it is incomplete.
 * Every line must end in CRLF: a bare LF is refused here rather than waited on (the next hop
 * may well end a line, or the head, there).
 */
export function headEnd(b: Buffer, from = 0): number {
  for (let i = b.indexOf(10, from); i >= 0; i = b.indexOf(10, i + 1)) {
    if (i === from || b[i - 1] !== 13) throw new HttpParseError('a line of the head ends in a bare LF');
    if (i - from >= 3 && b[i - 2] === 10 && b[i - 3] === 13) return i + 1;
  }
  return -1;
}

/** A CR that is not part of a CRLF, or a NUL. */
const bareBreak = /\0|\r(?!\n)|(?<!\r)\n/;
/** RFC 9110 5.6.2 token: header names, methods, codings, chunk extensions. */
const tchar = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]";
const token = new RegExp(`^${tchar}+$`);
/** RFC 9110 5.5: visible characters, obs-text, and SP/HTAB inside; no other control characters. */
const fieldValue = /^[\t\x20-\x7e\x80-\xff]*$/;
const ows = /^[ \t]+|[ \t]+$/g;
/** Methods Node's parser knows (it refuses others). */
const methods = new Set(METHODS);
/** Origin, absolute, authority or asterisk form: visible ASCII only. */
const requestLine = /^([A-Z-]+) ([\x21-\x7e]+) (HTTP\/1\.[01])$/;
const statusLine = /^(HTTP\/1\.[01]) ([1-9]\d\d)(?: [\t\x20-\x7e\x80-\xff]*)?$/;

/** A field line ("name: value") of a head or a trailer section. */
function fieldLine(line: string): [string, string] {
  // Obsolete line folding and a space before the colon are refused (RFC 9112 5.1, 5.2).
  const c = line.indexOf(':');
  const name = line.slice(0, c);
  if (c <= 0 || !token.test(name)) throw new HttpParseError('malformed header line');
  const raw = line.slice(c + 1);
  const value = raw.replace(ows, '');
  if (!fieldValue.test(value)) throw new HttpParseError('malformed header value');
  const lower = name.toLowerCase();
  // Node refuses a trailing tab after the framing headers (and only spaces are trimmed there).
  if ((lower === 'content-length' || lower === 'transfer-encoding') && /\t[ \t]*$/.test(raw))
    throw new HttpParseError(`malformed ${lower}`);
  return [lower, value];
}

export function parseHead(text: string, request: boolean): Head {
  // No bare CR/LF or NUL anywhere: either could make the next hop see different headers than we
  // checked (request smuggling).
  if (bareBreak.test(text)) throw new HttpParseError('malformed header line');
  const lines = text.split('\r\n');
  const first = lines[0] ?? '';
  const headers: Array<[string, string]> = [];
  for (let i = 1; i < lines.length; i++) headers.push(fieldLine(lines[i]!));
  if (request) {
    const m = requestLine.exec(first);
    if (!m || !methods.has(m[1]!)) throw new HttpParseError('malformed request line');
    return { method: m[1], target: m[2], version: m[3]!, headers };
  }
  const m = statusLine.exec(first);
  if (!m) throw new HttpParseError('malformed status line');
  return { status: Number(m[2]), version: m[1]!, headers };
}

export function header(h: Head, name: string): string | undefined {
  for (const [k, v] of h.headers) if (k === name) return v;
  return undefined;
}

export type BodyKind = 'none' | 'length' | 'chunked' | 'close';

const quoted = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';
const chunkSizeLine = new RegExp(`^([0-9a-fA-F]{1,12})(?:;${tchar}+(?:=(?:${tchar}+|${quoted}))?)*$`);

/**
 * Follows one message body through the bytes, without touching them. A `sink`
 * given to `feed` receives the body's content: chunked framing removed.
 */
export class BodyTracker {
  done = false;
  private left = 0;
  private chunkState: 'size' | 'data' | 'trailer' = 'size';
  private line = '';

  constructor(
    readonly kind: BodyKind,
    length = 0,
  ) {
    if (kind === 'none' || (kind === 'length' && length === 0)) this.done = true;
    this.left = length;
  }

  /** How many bytes of b[off..] belong to this body (sets `done` when it ends there). */
  feed(b: Buffer, off: number, sink?: (content: Buffer) => void): number {
    const end = b.length;
    if (this.done) return 0;
    if (this.kind === 'close') {
      if (sink && end > off) sink(b.subarray(off));
      return end - off;
    }
    if (this.kind === 'length') {
      const n = Math.min(this.left, end - off);
      if (sink && n > 0) sink(b.subarray(off, off + n));
      this.left -= n;
      if (this.left === 0) this.done = true;
      return n;
    }
    let i = off;
    while (i < end && !this.done) {
      if (this.chunkState === 'data') {
        const n = Math.min(this.left, end - i);
        // `left` counts the chunk's trailing CRLF too.
        const content = Math.min(n, this.left - 2);
        if (sink && content > 0) sink(b.subarray(i, i + content));
        // The CRLF after the data (perhaps split across reads) must be just that: a next hop that
        // reads other bytes there as data would see a different end of the body.
        for (let j = Math.max(content, 0); j < n; j++)
          if (b[i + j] !== (this.left - j === 2 ? 13 : 10))
            throw new HttpParseError('chunk data not followed by CRLF');
        i += n;
        this.left -= n;
        if (this.left === 0) this.chunkState = 'size';
        continue;
      }
      const nl = b.indexOf(10, i);
      if (nl < 0) {
        this.line += b.toString('latin1', i, end);
        if (this.line.length > 8192) throw new HttpParseError('chunk line too long');
        i = end;
        break;
      }
      const raw = this.line + b.toString('latin1', i, nl);
      this.line = '';
      i = nl + 1;
      // CRLF only: a next hop that ends these lines at a bare LF (or a bare CR) sees another body.
      if (!raw.endsWith('\r')) throw new HttpParseError('a chunked framing line ends in a bare LF');
      const line = raw.slice(0, -1);
      if (line.includes('\r')) throw new HttpParseError('bare CR in chunked framing');
      if (this.chunkState === 'size') {
        // Hex digits, then extensions as RFC 9112 7.1.1 has them (no whitespace): parseInt would
        // also take "0x5", "5zz" or "+5", which the next hop may read differently (where it thinks
        // the body ends, a smuggled request begins).
        const m = chunkSizeLine.exec(line);
        if (!m) throw new HttpParseError('bad chunk size');
        const size = Number.parseInt(m[1]!, 16);
        if (size === 0) this.chunkState = 'trailer';
        else {
          this.chunkState = 'data';
          this.left = size + 2;
        }
      } else if (line === '') this.done = true;
      else {
        // No framing in trailers (RFC 9110 6.5.1; Node refuses them there).
        const [name] = fieldLine(line);
        if (name === 'content-length' || name === 'transfer-encoding')
          throw new HttpParseError(`${name} in a trailer`);
      }
    }
    return i - off;
  }
}

/** The one content-length (several, even equal, are refused as Node does), or undefined. */
function contentLength(h: Head): number | undefined {
  const cls = h.headers.filter(([k]) => k === 'content-length');
  if (cls.length === 0) return undefined;
  if (cls.length > 1) throw new HttpParseError('more than one content-length');
  // Decimal digits only: Number() would also take "", "0x10", "1e3" or "+5" (smuggling, as above).
  const v = cls[0]![1];
  const n = /^\d{1,15}$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new HttpParseError('bad content-length');
  return n;
}

/** Whether the transfer codings (all transfer-encoding lines) end in chunked; undefined without any. */
function chunkedLast(h: Head): boolean | undefined {
  const lines = h.headers.filter(([k]) => k === 'transfer-encoding').map(([, v]) => v);
  if (lines.length === 0) return undefined;
  const codings = lines
    .join(',')
    .split(',')
    .map((c) => c.replace(ows, '').toLowerCase());
  if (codings.some((c) => !token.test(c))) throw new HttpParseError('malformed transfer-encoding');
  const chunked = codings.filter((c) => c === 'chunked').length;
  // Chunked once and last (RFC 9112 6.1), or not at all.
  if (chunked > 1 || (chunked === 1 && codings.at(-1) !== 'chunked'))
    throw new HttpParseError('transfer-encoding must end in chunked, once');
  return chunked === 1;
}

/** The body of a request, from its head (refusing the ambiguous framings smuggling relies on). */
export function requestBody(h: Head): BodyTracker {
  const chunked = chunkedLast(h);
  const length = contentLength(h);
  if (chunked !== undefined) {
    if (!chunked) throw new HttpParseError('transfer-encoding must end in chunked');
    if (length !== undefined) throw new HttpParseError('both transfer-encoding and content-length');
    return new BodyTracker('chunked');
  }
  return length === undefined ? new BodyTracker('none') : new BodyTracker('length', length);
}

/** The body of a response to a request with `method`. */
export function responseBody(h: Head, method: string | undefined): BodyTracker {
  const s = h.status!;
  // Framing headers are checked even where no body follows, as Node checks them.
  const chunked = chunkedLast(h);
  const length = contentLength(h);
  if (chunked !== undefined && length !== undefined)
    throw new HttpParseError('both transfer-encoding and content-length');
  if (method === 'HEAD' || s === 204 || s === 304 || (s >= 100 && s < 200)) return new BodyTracker('none');
  // Codings that do not end in chunked are read until the connection closes (RFC 9112 6.3).
  if (chunked !== undefined) return new BodyTracker(chunked ? 'chunked' : 'close');
  return length === undefined ? new BodyTracker('close') : new BodyTracker('length', length);
}
