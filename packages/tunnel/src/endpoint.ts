// The controller's two tunnel listeners:
// - the tunnel port, where agents dial in (TLS; ALPN "skyway-tunnel/1" with the
//   agent's certificate opens a tunnel, plain HTTPS serves enrollment), and
// - the service port (HTTPS), where callers reach agent services with a
//   service certificate or token.
import { mkdir, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import {
  normalizeSerial,
  type StatusOf,
  type TunnelCa,
  type TunnelCredentials,
  type TunnelLogger,
} from './credentials.js';
import { enrollmentHandler } from './enrollment.js';
import { guardListener } from './guard.js';
import { http2Callers } from './h2-callers.js';
import { raiseOpenFileLimit } from './open-files.js';
import { OpenRequests } from './open-requests.js';
import { AgentRegistry } from './registry.js';
import { CallerConnection } from './relay.js';
import { ServiceAuthenticator } from './service-auth.js';
import { openAgentConnection } from './session.js';

export const tunnelAlpn = 'skyway-tunnel/1';

/** TLS 1.2+ only; AES-128-GCM preferred (as strong for this use, and cheaper per byte on bulk streams). */
export const tlsTuning = {
  minVersion: 'TLSv1.2',
  ciphers: [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
  ].join(':'),
  honorCipherOrder: true,
} as const;
export const controllerVersion = '0.1.0';

/** What a caller with no credentials can hold on the service port (and an agent on the tunnel port). */
export interface TunnelLimits {
  /** A TLS handshake not complete this long after the connection was accepted is closed. */
  handshakeMs: number;
  /** A request head (HTTP/1.1) or first stream (HTTP/2) not complete this long after it began is closed. */
  headMs: number;
  /** Connections at once from one source address, per port. */
  maxPerSource: number;
  /** Connections at once on the service port: the rest of the open-file limit stays for agents, the API and the store. */
  maxServiceConnections: number;
}

function defaultLimits(): TunnelLimits {
  const files = raiseOpenFileLimit()?.soft ?? 1024;
  return {
    handshakeMs: 10_000,
    headMs: 30_000,
    maxPerSource: 1024,
    maxServiceConnections: Math.max(256, Math.floor(Math.min(files, 1 << 20) * 0.6)),
  };
}

export interface TunnelEndpointOptions {
  /** $SKYWAY_HOME: tunnel.json (the addresses below) is written here. */
  home?: string;
  /** The controller's CA: the listeners' server certificate, agent enrollment and renewal. */
  ca: TunnelCa;
  /** The controller's one credential service: tokens, certificate identities, the one revocation list. */
  credentials: TunnelCredentials;
  /** Domain errors' HTTP statuses (the controller's error catalog). */
  statusOf: StatusOf;
  logger: TunnelLogger;
  /** Listen address, default 127.0.0.1. */
  host?: string;
  /** Listen address of the service port when it differs from `host` (agents and callers on different networks). */
  serviceHost?: string;
  tunnelPort: number;
  servicePort: number;
  /** Names on the controller's TLS certificate; the first is the one agents and callers use. */
  serverNames?: string[];
  /** The tunnel address agents dial (host:port), when it differs from the listen address. */
  publicTunnelAddress?: string;
  /** The service URL callers use, when it differs from the listen address. */
  publicServiceUrl?: string;
  keepaliveMs?: number;
  agentCertTtlMs?: number;
  limits?: Partial<TunnelLimits>;
}

export interface TunnelEndpoint {
  agents: AgentRegistry;
  urls: { tunnel: string; service: string; serverName: string };
  caPem: string;
  close(): Promise<void>;
}

const listen = (server: tls.Server | http.Server, port: number, host: string) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });

export async function startTunnelEndpoint(opts: TunnelEndpointOptions): Promise<TunnelEndpoint> {
  const log = opts.logger;
  const { ca, credentials, statusOf } = opts;
  const limits = { ...defaultLimits(), ...opts.limits };
  const host = opts.host ?? '127.0.0.1';
  const keepaliveMs = opts.keepaliveMs ?? 5_000;
  const wildcard = host === '0.0.0.0' || host === '::';
  const names = [
    ...new Set(
      opts.serverNames ??
        (wildcard ? [hostname(), 'localhost', '127.0.0.1'] : [host, 'localhost', '127.0.0.1']),
    ),
  ];
  const serverCert = await ca.issueServer({ names });
  const agents = new AgentRegistry();

  // --- tunnel port ---
  const enrollServer = http.createServer(
    enrollmentHandler({
      ca,
      credentials,
      statusOf,
      agentCertTtlMs: opts.agentCertTtlMs ?? 30 * 86_400_000,
      logger: log,
    }),
  );
  enrollServer.headersTimeout = 15_000;
  enrollServer.requestTimeout = 30_000;
  const tunnelSockets = new Set<tls.TLSSocket>();
  // Both ports: our server certificate; a client certificate from our CA is asked for, not
  // required (enrollment and token callers have none); whether it is valid is checked per use.
  const serverTls = (ALPNProtocols: string[]): tls.TlsOptions => ({
    cert: serverCert.certPem,
    key: serverCert.keyPem,
    ca: ca.certPem,
    requestCert: true,
    rejectUnauthorized: false,
    ALPNProtocols,
    ...tlsTuning,
  });
  const tunnelServer = tls.createServer(serverTls([tunnelAlpn, 'http/1.1']), (sock) => {
    tunnelSockets.add(sock);
    sock.once('close', () => tunnelSockets.delete(sock));
    sock.on('error', (e) => log.debug({ err: e.message }, 'tunnel socket error'));
    if (sock.alpnProtocol !== tunnelAlpn) {
      enrollServer.emit('connection', sock);
      return;
    }
    const cert = sock.getPeerCertificate();
    const id = credentials.identify(cert?.subjectaltname);
    const refuse = (why: string) => {
      log.warn({ remote: sock.remoteAddress, why }, 'tunnel refused');
      sock.destroy();
    };
    if (!sock.authorized)
      return refuse(`certificate rejected (${sock.authorizationError ?? 'none presented'})`);
    if (id?.kind !== 'agent') return refuse('not an agent certificate');
    const serial = normalizeSerial(cert.serialNumber);
    if (credentials.isRevoked(serial)) return refuse('agent certificate revoked');
    admit(sock, id.agent, serial);
  });
  const admit = (sock: tls.TLSSocket, agent: string, serial: string) => {
    sock.setNoDelay(true);
    sock.setKeepAlive(true, keepaliveMs);
    openAgentConnection(sock, { agent, serial }, { keepaliveMs, logger: log, controllerVersion })
      .then((conn) => {
        if (conn.session.destroyed) return;
        // Revoked while it said hello: the cut below found nothing to cut yet.
        if (credentials.isRevoked(serial)) return conn.close();
        agents.add(conn);
        log.info(
          { agent: conn.agent, remote: conn.remote, services: [...conn.serviceKeys] },
          'agent connected',
        );
        conn.session.once('close', () => {
          agents.remove(conn);
          log.info({ agent: conn.agent, remote: conn.remote }, 'agent disconnected');
        });
      })
      .catch((e) => {
        log.warn({ remote: sock.remoteAddress, why: (e as Error).message }, 'tunnel refused: hello failed');
        sock.destroy();
      });
  };
  guardListener(
    tunnelServer,
    { handshakeMs: limits.handshakeMs, maxPerSource: limits.maxPerSource, maxConnections: Infinity },
    log,
    'tunnel',
  );

  // --- service port ---
  const auth = new ServiceAuthenticator(credentials);
  const open = new OpenRequests();
  const relayDeps = { auth, agents, open, log, statusOf, headMs: limits.headMs };
  // A credential revoked ends what it has open: an agent's tunnels, a caller's requests, watches and WebSockets.
  const stopCutting = credentials.onRevoked((id) => {
    const key = normalizeSerial(id);
    for (const c of agents.connections()) if (c.certSerial === key) c.close();
    const cut = open.cut(key);
    if (cut > 0) log.info({ credential: id, cut }, 'revoked credential: open requests ended');
  });
  const h2Callers = http2Callers(relayDeps);
  const callers = new Set<tls.TLSSocket>();
  const serviceServer = tls.createServer(serverTls(['h2', 'http/1.1']), (sock) => {
    callers.add(sock);
    sock.once('close', () => callers.delete(sock));
    if (sock.alpnProtocol === 'h2') h2Callers.accept(sock);
    else new CallerConnection(sock, relayDeps);
  });
  guardListener(
    serviceServer,
    {
      handshakeMs: limits.handshakeMs,
      maxPerSource: limits.maxPerSource,
      maxConnections: limits.maxServiceConnections,
    },
    log,
    'service',
  );

  const tunnelPort = await listen(tunnelServer, opts.tunnelPort, host);
  let servicePort: number;
  try {
    servicePort = await listen(serviceServer, opts.servicePort, opts.serviceHost ?? host);
  } catch (e) {
    tunnelServer.close();
    throw e;
  }
  const serverName = names[0]!;
  const fmt = (h: string) => (h.includes(':') ? `[${h}]` : h);
  const urls = {
    tunnel: opts.publicTunnelAddress ?? `${fmt(wildcard ? hostname() : host)}:${tunnelPort}`,
    service:
      opts.publicServiceUrl ??
      `https://${fmt(wildcard ? hostname() : (opts.serviceHost ?? host))}:${servicePort}`,
    serverName,
  };
  if (opts.home) {
    await mkdir(opts.home, { recursive: true, mode: 0o700 });
    await writeFile(join(opts.home, 'tunnel.json'), JSON.stringify(urls, null, 2));
  }
  log.info(urls, 'tunnel endpoint listening');
  return {
    agents,
    urls,
    caPem: ca.certPem,
    async close() {
      stopCutting();
      const closed = Promise.all([
        new Promise((r) => tunnelServer.close(r)),
        new Promise((r) => serviceServer.close(r)),
      ]);
      agents.closeAll();
      for (const s of tunnelSockets) s.destroy();
      enrollServer.closeAllConnections();
      for (const s of callers) s.destroy();
      await closed;
    },
  };
}
