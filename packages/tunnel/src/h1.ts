// Just enough HTTP/1.1 to relay a connection byte for byte: where a message
// head ends, what it says, and where its body ends (length, chunked, none or
// until close). Bodies are never copied or re-encoded, only observed.

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

const CRLFCRLF = Buffer.from('\r\n\r\n');
export const maxHeadBytes = 64 * 1024;

/** Index just past the head's blank line in `b` (from `from`), or -1. */
export function headEnd(b: Buffer, from = 0): number {
  const i = b.indexOf(CRLFCRLF, from);
  return i < 0 ? -1 : i + 4;
}

/** A CR or LF that is not part of a CRLF, or a NUL. */
const bareBreak = /\0|\r(?!\n)|(?<!\r)\n/;

export function parseHead(text: string, request: boolean): Head {
  // No bare CR/LF or NUL anywhere and no obsolete line folding: either could make the
  // next hop see different headers than we checked (request smuggling).
  if (bareBreak.test(text)) throw new HttpParseError('malformed header line');
  const lines = text.split('\r\n');
  const first = lines[0] ?? '';
  const headers: Array<[string, string]> = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    if (line[0] === ' ' || line[0] === '\t') throw new HttpParseError('malformed header line');
    const c = line.indexOf(':');
    if (c <= 0) throw new HttpParseError(`malformed header line`);
    headers.push([line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim()]);
  }
  if (request) {
    const m = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/.exec(first);
    if (!m) throw new HttpParseError('malformed request line');
    return { method: m[1], target: m[2], version: m[3]!, headers };
  }
  const m = /^(HTTP\/1\.[01]) (\d{3})/.exec(first);
  if (!m) throw new HttpParseError('malformed status line');
  return { status: Number(m[2]), version: m[1]!, headers };
}

export function header(h: Head, name: string): string | undefined {
  for (const [k, v] of h.headers) if (k === name) return v;
  return undefined;
}

export type BodyKind = 'none' | 'length' | 'chunked' | 'close';

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
      const line = (this.line + b.toString('latin1', i, nl)).replace(/\r$/, '');
      this.line = '';
      i = nl + 1;
      if (this.chunkState === 'size') {
        // Hex digits only: parseInt would also take "0x5", "5zz" or "+5", which the next hop may read
        // differently (where it thinks the body ends, a smuggled request begins).
        const digits = line.split(';')[0]!.trim();
        if (!/^[0-9a-fA-F]{1,12}$/.test(digits)) throw new HttpParseError('bad chunk size');
        const size = Number.parseInt(digits, 16);
        if (size === 0) this.chunkState = 'trailer';
        else {
          this.chunkState = 'data';
          this.left = size + 2;
        }
      } else if (line === '') this.done = true;
    }
    return i - off;
  }
}

/** A body of content-length bytes when the head gives one, else one of kind `otherwise`. */
function byLength(h: Head, otherwise: BodyKind): BodyTracker {
  const cl = header(h, 'content-length');
  if (cl === undefined) return new BodyTracker(otherwise);
  // Decimal digits only: Number() would also take "", "0x10", "1e3" or "+5" (smuggling, as above).
  const n = /^\d{1,15}$/.test(cl) ? Number(cl) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new HttpParseError('bad content-length');
  return new BodyTracker('length', n);
}

/** The body of a request, from its head (refusing the ambiguous framings smuggling relies on). */
export function requestBody(h: Head): BodyTracker {
  const te = h.headers.filter(([k]) => k === 'transfer-encoding').map(([, v]) => v);
  const cls = new Set(h.headers.filter(([k]) => k === 'content-length').map(([, v]) => v.trim()));
  if (te.length > 0) {
    if (!/(^|,)\s*chunked\s*$/i.test(te.join(',')))
      throw new HttpParseError('transfer-encoding must end in chunked');
    if (cls.size > 0) throw new HttpParseError('both transfer-encoding and content-length');
    return new BodyTracker('chunked');
  }
  if (cls.size > 1) throw new HttpParseError('conflicting content-length values');
  return byLength(h, 'none');
}

/** The body of a response to a request with `method`. */
export function responseBody(h: Head, method: string | undefined): BodyTracker {
  const s = h.status!;
  if (method === 'HEAD' || s === 204 || s === 304 || (s >= 100 && s < 200)) return new BodyTracker('none');
  const te = header(h, 'transfer-encoding');
  if (te && /chunked\s*$/i.test(te)) return new BodyTracker('chunked');
  return byLength(h, 'close');
}
