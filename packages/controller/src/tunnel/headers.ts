// Hop-by-hop headers: never forwarded (HTTP/2 forbids them too).
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
  'proxy-authorization',
]);
