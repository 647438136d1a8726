// The framing of a relay stream between controller and agent (one HTTP/2
// stream per caller connection or request): [type u8][length u32 BE][payload].

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

/**
 * Bytes a side of the relay may hold for the other before it stops reading
 * (back-pressure). Large enough that on a bulk transfer every process in the
 * chain keeps working while the next one catches up (at 256 KiB a 1 GiB
 * download left a quarter of the CPU idle, waiting); still bounded per stream.
 */
export const relayMaxBuffered = 1024 * 1024;
