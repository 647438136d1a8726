// The overlay's control messages on the agent's reversed HTTP/2 connection:
// the controller opens a stream with the `skyway-overlay` header and a JSON
// body (apply a site document, or ask a site's state) and reads the report.
import type * as http2 from 'node:http2';
import type { Logger } from 'pino';
import type { OverlayApplier } from './applier.js';
import type { OverlayRequest } from './document.js';

export const OVERLAY_HEADER = 'skyway-overlay';
const MAX_BODY = 4 << 20;

export function overlayStreamHandler(applier: OverlayApplier, log?: Logger) {
  return (stream: http2.ServerHttp2Stream) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const answer = (status: number, body: unknown) => {
      if (stream.destroyed) return;
      stream.respond({ ':status': status, 'content-type': 'application/json' });
      stream.end(JSON.stringify(body));
    };
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        answer(413, { error: 'overlay message too large' });
        stream.destroy();
      } else chunks.push(c);
    });
    stream.on('error', () => {});
    stream.on('end', async () => {
      try {
        const req = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OverlayRequest;
        if (req.op === 'apply') answer(200, await applier.apply(req.doc));
        else if (req.op === 'status') answer(200, await applier.status(req.overlay, req.site));
        else answer(400, { error: 'unknown overlay operation' });
      } catch (e) {
        // The message never holds a key: only the failed command's line and stderr.
        log?.warn({ err: (e as Error).message }, 'overlay apply failed');
        answer(500, { error: (e as Error).message.slice(0, 500) });
      }
    });
  };
}
