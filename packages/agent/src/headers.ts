// Header names that belong to one hop and are never forwarded; HTTP/2 also
// forbids them.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

export const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'host',
  'http2-settings',
  'trailer',
]);

/** Headers of a forwarded request as the agent sends them upstream. */
export function upstreamRequestHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const k in h) {
    if (k.charCodeAt(0) === 58 /* : */ || hopByHop.has(k) || k.startsWith('skyway-') || k === 'authorization')
      continue;
    out[k] = h[k];
  }
  return out;
}

/** Headers of an upstream response as the agent returns them over HTTP/2. */
export function tunnelResponseHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const k in h) {
    if (hopByHop.has(k) || k.startsWith('skyway-')) continue;
    out[k] = h[k];
  }
  return out;
}
