// What keeps a TLS listener alive when anyone can reach it: a deadline for
// the TLS handshake (Node's handshakeTimeout only emits tlsClientError and
// leaves the socket open, and it is reset by every byte), a cap on
// connections per source address and one for the listener, so that a flood
// of one port leaves file descriptors for the others.
import type { Socket } from 'node:net';
import type { Server, TLSSocket } from 'node:tls';
import type { TunnelLogger } from './credentials.js';

export interface ListenerGuard {
  /** The TLS handshake must be complete this long after the connection is accepted. */
  handshakeMs: number;
  /** Connections at once from one source address; more are closed as they come. */
  maxPerSource: number;
  /** Connections at once on this listener; more are closed as they come. */
  maxConnections: number;
}

const keyOf = (s: { remoteAddress?: string; remotePort?: number }) => `${s.remoteAddress}|${s.remotePort}`;

export function guardListener(server: Server, g: ListenerGuard, log: TunnelLogger, name: string) {
  if (Number.isFinite(g.maxConnections)) server.maxConnections = g.maxConnections;
  const perSource = new Map<string, number>();
  /** Raw sockets whose handshake is not done, by address and port (what the TLS socket reports too). */
  const handshaking = new Map<string, { raw: Socket; timer: NodeJS.Timeout }>();
  let refusedSince = 0;
  const noteRefused = () => {
    // One log line per burst, not one per connection of a flood.
    if (refusedSince++ === 0)
      setTimeout(() => {
        log.warn({ listener: name, refused: refusedSince }, 'connections refused: too many from one source');
        refusedSince = 0;
      }, 10_000).unref();
  };
  server.on('connection', (raw: Socket) => {
    const source = raw.remoteAddress ?? '';
    const n = (perSource.get(source) ?? 0) + 1;
    if (n > g.maxPerSource) {
      noteRefused();
      raw.destroy();
      return;
    }
    perSource.set(source, n);
    const key = keyOf(raw);
    const timer = setTimeout(() => {
      handshaking.delete(key);
      raw.destroy();
    }, g.handshakeMs);
    timer.unref();
    handshaking.set(key, { raw, timer });
    raw.once('close', () => {
      const left = (perSource.get(source) ?? 1) - 1;
      if (left > 0) perSource.set(source, left);
      else perSource.delete(source);
      const h = handshaking.get(key);
      if (h?.raw === raw) {
        clearTimeout(h.timer);
        handshaking.delete(key);
      }
    });
  });
  server.prependListener('secureConnection', (sock: TLSSocket) => {
    const key = keyOf(sock);
    const h = handshaking.get(key);
    if (h) {
      clearTimeout(h.timer);
      handshaking.delete(key);
    }
  });
  // A failed or timed-out handshake: Node only reports it; the socket must be closed here.
  server.on('tlsClientError', (e, sock) => {
    log.debug({ listener: name, err: e.message }, 'TLS handshake failed');
    sock.destroy();
  });
  return {
    /** Connections at once per source address (for tests and stats). */
    sources: () => new Map(perSource),
  };
}
