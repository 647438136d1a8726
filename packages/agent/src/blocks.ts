// Reading from a service without allocating per read. Node gives every socket
// read a fresh buffer; at a GiB of streamed body that is a GiB of ArrayBuffers
// for the garbage collector, which V8 counts as external memory and answers
// with back-to-back full collections (a third of the agent's CPU on a bulk
// download). Plain TCP service sockets instead read into one shared buffer
// (nothing is held by an idle connection); each read is copied into a block
// that is reused once the HTTP/2 stream has taken the bytes (its write
// callback).

/** The largest single read, and the size of a block. */
export const readSize = 64 * 1024;
/** Free blocks kept for reuse (the rest are left to the garbage collector). */
const maxFree = 32;

/** Every plain TCP read of the process lands here first; only valid until the read callback returns. */
export const sharedReadBuffer = Buffer.allocUnsafeSlow(readSize);

class Block {
  readonly buf = Buffer.allocUnsafeSlow(readSize);
  used = 0;
  refs = 0;
  /** Write callback: the bytes are no longer needed. */
  readonly release = () => {
    if (--this.refs > 0) return;
    this.used = 0;
    if (this !== current && free.length < maxFree) free.push(this);
  };
}

let current: Block | undefined;
const noop = () => {};
const free: Block[] = [];

/** Writes a copy of `src[0..n)` to `out`; returns what `out.write` returns. */
export function writeCopy(
  out: { write(b: Buffer, cb: (err?: Error | null) => void): boolean },
  src: Buffer,
  n: number,
): boolean {
  if (n > readSize) return out.write(Buffer.from(src.subarray(0, n)), noop);
  let b = current;
  if (!b || (b.refs > 0 && b.used + n > readSize)) {
    b = free.pop() ?? new Block();
    current = b;
  }
  const at = b.used;
  src.copy(b.buf, at, 0, n);
  b.used = at + n;
  b.refs++;
  return out.write(b.buf.subarray(at, at + n), b.release);
}
