// The framing of a relay stream between controller and agent (one HTTP/2
// stream per caller connection or request): [type u8][length u32 BE][payload].
// The controller writes frames (these encoders); the agent reads them.

/** The request head, without the caller's credentials. */
export const frameHead = 1;
/** Raw request body bytes. */
export const frameBody = 2;
/** The end of this request's body. */
export const frameEnd = 3;
/**
 * The stream is over (done or abandoned): the agent ends its side and closes
 * the service connection, or, if the one-byte payload is 1 (the last response
 * was complete and left it open), keeps it for the next stream.
 */
export const frameClose = 4;
export const frameHeaderBytes = 5;
/** Payloads up to this size are copied into their frame (one write); larger ones follow it. */
const copyLimit = 16384;

/** One tunnel frame; a large payload is returned as a second buffer instead of being copied. */
export function frame(type: number, payload?: Buffer): [Buffer] | [Buffer, Buffer] {
  const len = payload?.length ?? 0;
  const copy = payload !== undefined && len <= copyLimit;
  const out = Buffer.allocUnsafe(frameHeaderBytes + (copy ? len : 0));
  out[0] = type;
  out.writeUInt32BE(len, 1);
  if (copy) payload.copy(out, frameHeaderBytes);
  return copy || !payload ? [out] : [out, payload];
}

/** A HEAD frame with the request head, followed by an END frame when the request has no body. */
export function headFrame(text: string, withEnd: boolean): Buffer {
  const n = Buffer.byteLength(text, 'latin1');
  const out = Buffer.allocUnsafe(frameHeaderBytes + n + (withEnd ? frameHeaderBytes : 0));
  out[0] = frameHead;
  out.writeUInt32BE(n, 1);
  out.write(text, frameHeaderBytes, 'latin1');
  if (withEnd) {
    out[frameHeaderBytes + n] = frameEnd;
    out.writeUInt32BE(0, frameHeaderBytes + n + 1);
  }
  return out;
}

/**
 * Bytes a side of the relay may hold for the other before it stops reading
 * (back-pressure). Large enough that on a bulk transfer every process in the
 * chain keeps working while the next one catches up (at 256 KiB a 1 GiB
 * download left a quarter of the CPU idle, waiting); still bounded per stream.
 */
export const relayMaxBuffered = 1024 * 1024;
