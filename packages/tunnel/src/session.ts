// The controller's side of one agent connection: over the agent's TLS socket
// the controller is the HTTP/2 client. It says Hello over the control service,
// then keeps the connection alive with pings and drops it when the agent stops
// answering.
import { randomUUID } from 'node:crypto';
import * as http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport, type Http2SessionManager } from '@connectrpc/connect-node';
import { unavailable } from '@skyway/core';
import { AgentService } from '@skyway/proto/tunnel';
import type { TunnelLogger } from './credentials.js';
import { keepAlive } from './keepalive.js';
import type { AgentConnection, AgentHello, ConnectionStats } from './registry.js';

const authority = 'http://agent.skyway.invalid';

export const tunnelH2Settings: http2.Settings = {
  initialWindowSize: 1 << 20,
  enablePush: false,
  maxFrameSize: 1 << 16,
};

export async function openAgentConnection(
  sock: TLSSocket,
  id: { agent: string; serial: string },
  opts: { keepaliveMs: number; logger: TunnelLogger; controllerVersion: string },
): Promise<AgentConnection> {
  const session = http2.connect(authority, {
    createConnection: () => sock,
    settings: tunnelH2Settings,
    maxSessionMemory: 256,
    peerMaxConcurrentStreams: 100_000,
  });
  session.on('error', (e) => opts.logger.debug({ agent: id.agent, err: e.message }, 'tunnel session error'));
  session.once('connect', () => session.setLocalWindowSize(16 << 20));
  // Connect's HTTP/2 transport over this one session (no reconnects: the agent dials again).
  const manager = {
    authority,
    request(
      method: string,
      path: string,
      headers: http2.OutgoingHttpHeaders,
      options: http2.ClientSessionRequestOptions,
    ) {
      if (session.closed || session.destroyed)
        return Promise.reject(unavailable('agent connection is closed'));
      return Promise.resolve(session.request({ ...headers, ':method': method, ':path': path }, options));
    },
    notifyResponseByteRead() {},
    abort() {
      session.destroy();
    },
  };
  const client = createClient(
    AgentService,
    createGrpcTransport({ baseUrl: authority, sessionManager: manager as unknown as Http2SessionManager }),
  );
  let hello: AgentHello;
  try {
    const h = await client.hello(
      {
        controllerVersion: opts.controllerVersion,
        sessionId: randomUUID(),
        controllerTimeMs: BigInt(Date.now()),
      },
      { timeoutMs: 10_000 },
    );
    if (h.agentName !== id.agent)
      throw unavailable(`agent says it is "${h.agentName}" but its certificate says "${id.agent}"`);
    hello = {
      version: h.version,
      hostname: h.hostname,
      annotations: { ...h.annotations },
      services: h.services.map((s) => ({ name: s.name, type: s.type, annotations: { ...s.annotations } })),
      certificateExpires: h.certificateExpiresMs
        ? new Date(Number(h.certificateExpiresMs)).toISOString()
        : undefined,
    };
  } catch (e) {
    session.destroy();
    sock.destroy();
    throw e;
  }
  const stats: ConnectionStats = { requests: 0, errors: 0, active: 0 };
  keepAlive(session, opts.keepaliveMs, (why) => {
    if (why === 'timeout')
      opts.logger.warn({ agent: id.agent }, 'agent stopped answering pings; dropping its connection');
    session.destroy();
    sock.destroy();
  });
  const remote = `${sock.remoteAddress}:${sock.remotePort}`;
  return {
    id: randomUUID(),
    agent: id.agent,
    remote,
    connectedAt: new Date(),
    certSerial: id.serial,
    session,
    hello,
    stats,
    serviceKeys: new Set(hello.services.map((s) => `${s.type}/${s.name}`)),
    close() {
      session.destroy();
      sock.destroy();
    },
    async fetchStats(timeoutMs = 2_000) {
      const s = await client.getStats({}, { timeoutMs });
      return {
        uptimeMs: Number(s.uptimeMs),
        rssBytes: Number(s.rssBytes),
        services: s.services.map((x) => ({
          type: x.type,
          name: x.name,
          requests: Number(x.requests),
          errors: Number(x.errors),
          active: x.active,
        })),
      };
    },
  };
}
