// What the tunnel reports to a metrics collector (the controller's /metrics
// sets `tunnelObserver.current`); nothing is reported while none is set.
import type { ClientHttp2Stream } from 'node:http2';

export interface TunnelObserver {
  /** A request is relayed to `service` ("type/name") of `agent`. */
  request(agent: string, service: string): void;
  bytes(agent: string, service: string, direction: 'to_agent' | 'from_agent', n: number): void;
  /** A request could not be relayed (the agent was lost, or its service could not be reached). */
  relayError(agent: string, service: string): void;
}

export const tunnelObserver: { current?: TunnelObserver } = {};

/**
 * Counts the bytes of a tunnel stream both ways. emit and write are wrapped
 * rather than listened to: a 'data' listener would switch the stream to
 * flowing before its owner reads it.
 */
export function observeStream(stream: ClientHttp2Stream, agent: string, service: string): void {
  const o = tunnelObserver.current;
  if (!o) return;
  const emit = stream.emit;
  stream.emit = function (this: ClientHttp2Stream, event: string | symbol, ...args: unknown[]) {
    if (event === 'data') o.bytes(agent, service, 'from_agent', (args[0] as Buffer).length);
    return emit.call(this, event, ...args);
  } as typeof stream.emit;
  const write = stream.write;
  stream.write = function (this: ClientHttp2Stream, chunk: unknown, ...rest: unknown[]) {
    if (typeof chunk === 'string' || chunk instanceof Uint8Array)
      o.bytes(agent, service, 'to_agent', chunk.length);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof stream.write;
}
