// Re-signing an S3 upload whose body the caller signed chunk by chunk
// (x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], or
// STREAMING-AWS4-ECDSA-P256-SHA256-... for SigV4a; the aws-chunked encoding).
// Each chunk's signature chains to the one before it, the first to the
// request's, so once the agent has re-signed the request every chunk signature
// is replaced by one made with the agent's key. Signatures have a fixed width
// (64 hex digits; SigV4a's DER signatures padded with "*" to 144), so the body
// keeps its length, and Content-Length and x-amz-decoded-content-length stay
// true. A chunk's signature comes before its data, so each chunk is held until
// it is complete (at most `maxChunkBytes`).
import { createHash, type Hash } from 'node:crypto';
import { ecdsaAlgorithm, RefusedRequest, type Signed, sha256 } from './sigv4.js';

/** The largest chunk held for signing (the SDKs send 64 KiB to 1 MiB). */
export const maxChunkBytes = 8 * 1024 * 1024;
/** A chunk header or trailer line longer than this is not aws-chunked. */
const maxLineBytes = 4096;
const emptyHash = sha256('');
const chunkHeader = /^([0-9a-fA-F]{1,8});chunk-signature=(.*)$/;
/** A caller's signature as it stands in the body: hex digits, padded with "*" to `width`. */
const signatureOf = (s: string, width: number) => s.length === width && /^[0-9a-f]+\**$/.test(s);
const trailerSignatureName = 'x-amz-trailer-signature';
const crlf = Buffer.from('\r\n');

type State = 'header' | 'data' | 'data-end' | 'trailer' | 'done';

export class S3ChunkSigner {
  private state: State = 'header';
  private previous: string;
  /** A line (chunk header, CRLF after data, trailer line) read so far. */
  private line = '';
  private size = 0;
  private sizeText = '';
  private left = 0;
  private held: Buffer[] = [];
  private hash: Hash = createHash('sha256');
  /** Trailer lines as AWS signs them: `name:value\n`. */
  private trailers = '';
  private trailerSigned = false;
  /** The width of every chunk and trailer signature in the body. */
  private readonly width: number;

  constructor(
    private readonly signed: Signed,
    /** The body ends with trailing headers (x-amz-checksum-...) and their signature. */
    private readonly withTrailer: boolean,
  ) {
    this.previous = signed.signature;
    this.width = signed.algorithm === ecdsaAlgorithm ? 144 : 64;
  }

  /** The whole body has been read, the final chunk included. */
  get done() {
    return this.state === 'done';
  }

  /**
   * Reads the next bytes of the body; returns what goes to the service (possibly nothing while
   * a chunk is incomplete). Throws RefusedRequest when the body is not aws-chunked.
   */
  push(b: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let off = 0;
    while (off < b.length) {
      switch (this.state) {
        case 'done':
          throw new RefusedRequest('the aws-chunked body goes on after its final chunk');
        case 'data': {
          const n = Math.min(this.left, b.length - off);
          const part = b.subarray(off, off + n);
          this.hash.update(part);
          this.held.push(part);
          this.left -= n;
          off += n;
          if (this.left === 0) this.state = 'data-end';
          break;
        }
        default: {
          const nl = b.indexOf(10, off);
          const end = nl < 0 ? b.length : nl + 1;
          this.line += b.toString('latin1', off, end);
          off = end;
          if (this.line.length > maxLineBytes)
            throw new RefusedRequest('the aws-chunked body has a line over 4 KiB');
          if (nl < 0) break;
          if (!this.line.endsWith('\r\n'))
            throw new RefusedRequest('the aws-chunked body has a line not ended by CRLF');
          const line = this.line.slice(0, -2);
          this.line = '';
          this.onLine(line, out);
        }
      }
    }
    return out;
  }

  private onLine(line: string, out: Buffer[]) {
    if (this.state === 'header') {
      const m = chunkHeader.exec(line);
      if (!m || !signatureOf(m[2]!, this.width))
        throw new RefusedRequest(
          `the aws-chunked body has a chunk header that is not "<hex size>;chunk-signature=<signature of ${this.width} characters>"`,
        );
      this.sizeText = m[1]!;
      this.size = Number.parseInt(this.sizeText, 16);
      if (this.size > maxChunkBytes)
        throw new RefusedRequest(
          `the aws-chunked body has a chunk of ${this.size} bytes; the agent re-signs chunks up to 8 MiB`,
        );
      this.left = this.size;
      this.hash = createHash('sha256');
      this.held = [];
      if (this.size > 0) this.state = 'data';
      else {
        // The final chunk: signed now, then its CRLF or the trailing headers.
        out.push(this.chunkHead());
        this.state = this.withTrailer ? 'trailer' : 'data-end';
      }
      return;
    }
    if (this.state === 'data-end') {
      if (line !== '') throw new RefusedRequest('the aws-chunked body has a chunk longer than its size');
      if (this.size > 0) out.push(this.chunkHead(), ...this.held, crlf);
      else out.push(crlf);
      this.held = [];
      this.state = this.size > 0 ? 'header' : 'done';
      return;
    }
    // Trailing headers, then their signature, then an empty line.
    if (line === '') {
      out.push(crlf);
      if (this.trailerSigned) this.state = 'done';
      return;
    }
    const c = line.indexOf(':');
    if (c <= 0) throw new RefusedRequest('the aws-chunked body has a malformed trailing header');
    const name = line.slice(0, c).trim().toLowerCase();
    if (name !== trailerSignatureName) {
      if (this.trailerSigned)
        throw new RefusedRequest('the aws-chunked body has a trailing header after its signature');
      this.trailers += `${name}:${line.slice(c + 1).trim()}\n`;
      out.push(Buffer.from(`${line}\r\n`, 'latin1'));
      return;
    }
    // Replaced in place, so the body keeps its length.
    if (!signatureOf(line.slice(c + 1), this.width))
      throw new RefusedRequest(
        `the aws-chunked body has a trailer signature that is not ${this.width} characters`,
      );
    this.trailerSigned = true;
    const signature = this.chain('TRAILER', sha256(this.trailers));
    out.push(Buffer.from(`${line.slice(0, c + 1)}${this.padded(signature)}\r\n`, 'latin1'));
  }

  /** The current chunk's header, with the agent's signature (which the next chunk chains to). */
  private chunkHead(): Buffer {
    this.previous = this.chain('PAYLOAD', emptyHash, this.hash.digest('hex'));
    return Buffer.from(`${this.sizeText};chunk-signature=${this.padded(this.previous)}\r\n`, 'latin1');
  }

  /**
   * A signature in the chain: over the request's date and scope, the previous signature
   * (unpadded) and `hashes`.
   */
  private chain(kind: 'PAYLOAD' | 'TRAILER', ...hashes: string[]): string {
    const { algorithm, amzDate, scope } = this.signed;
    return this.signed.sign([`${algorithm}-${kind}`, amzDate, scope, this.previous, ...hashes].join('\n'));
  }

  private padded(signature: string): string {
    return signature.padEnd(this.width, '*');
  }
}
