// serve() and connect(): a CloudPlugin over gRPC (HTTP/2, TLS optional), and
// inProcess(): the same client interface with no network in between.
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { create } from '@bufbuild/protobuf';
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createClient,
  createHandlerContext,
  createRouterTransport,
  type Interceptor,
} from '@connectrpc/connect';
import { connectNodeAdapter, createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { Controller } from '@skyway/proto/controller';
import { CloudPlugin } from '@skyway/proto/plugin';
import type { CloudPluginImpl, ControllerClient, ControllerImpl, PluginClient } from './contract.js';
import { mapErrors } from './errors.js';

export interface TlsFiles {
  cert: string;
  key: string;
  /** CA that signed the peer's certificate (client side: the server's CA). */
  ca?: string;
}

/** The same as PEM text rather than file paths (the controller issues its certificates in memory). */
export interface TlsPem {
  certPem?: string;
  keyPem?: string;
  caPem?: string;
}

export type Tls = TlsFiles | TlsPem;

const pemOf = (tls: Tls | undefined, part: 'cert' | 'key' | 'ca'): string | Buffer | undefined => {
  if (!tls) return undefined;
  const pem = (tls as TlsPem)[`${part}Pem`];
  if (pem) return pem;
  const file = (tls as Partial<TlsFiles>)[part];
  return file ? readFileSync(file) : undefined;
};

export interface Served {
  /** e.g. http://127.0.0.1:50051 */
  url: string;
  close(): Promise<void>;
}

/** Bearer-token check for everything served; returns an error message or undefined. */
export type Authorize = (
  authorization: string | undefined,
) => Promise<string | undefined> | string | undefined;

/** Serves a CloudPlugin (and optionally other services) over gRPC on host:port (0 = any free port). */
export async function serve(opts: {
  routes: (router: ConnectRouter) => void;
  host?: string;
  port?: number;
  tls?: Tls;
  authorize?: Authorize;
}): Promise<Served> {
  const handler = connectNodeAdapter({
    routes: opts.routes,
    interceptors: opts.authorize ? [authInterceptor(opts.authorize)] : [],
  });
  const server = opts.tls
    ? http2.createSecureServer(
        { cert: pemOf(opts.tls, 'cert'), key: pemOf(opts.tls, 'key'), minVersion: 'TLSv1.2' },
        handler,
      )
    : http2.createServer(handler);
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  return {
    url: `${opts.tls ? 'https' : 'http'}://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.close();
        server.close(() => resolve());
      }),
  };
}

/** Routes for serving one CloudPlugin implementation; SkywayErrors leave as ConnectErrors (see errors.ts). */
export const pluginRoutes = (impl: CloudPluginImpl) => (router: ConnectRouter) =>
  router.service(CloudPlugin, mapErrors(impl));

/** Routes for serving the controller's callback service. */
export const controllerRoutes = (impl: ControllerImpl) => (router: ConnectRouter) =>
  router.service(Controller, mapErrors(impl));

function authInterceptor(authorize: Authorize): Interceptor {
  return (next) => async (req) => {
    const problem = await authorize(req.header.get('authorization') ?? undefined);
    if (problem) throw new ConnectError(problem, Code.Unauthenticated);
    return next(req);
  };
}

/** A bearer token, or where to read the current one (keys are rotated while a plugin runs). */
export type Token = string | (() => string);

export interface Connection<C> {
  client: C;
  close(): void;
}

function grpcClient<S extends typeof CloudPlugin | typeof Controller>(
  service: S,
  opts: { url: string; token?: Token; tls?: Tls; timeoutMs?: number },
) {
  const ca = pemOf(opts.tls, 'ca');
  const nodeOptions = ca ? { ca } : undefined;
  const sessionManager = new Http2SessionManager(opts.url, { pingIntervalMs: 10_000 }, nodeOptions);
  const bearer: Interceptor = (next) => (req) => {
    const token = typeof opts.token === 'function' ? opts.token() : opts.token;
    if (token) req.header.set('authorization', `Bearer ${token}`);
    return next(req);
  };
  const transport = createGrpcTransport({
    baseUrl: opts.url,
    sessionManager,
    interceptors: [bearer],
    defaultTimeoutMs: opts.timeoutMs ?? 120_000,
    nodeOptions,
  });
  return { client: createClient(service, transport), close: () => sessionManager.abort() };
}

/** Connects to a plugin served over gRPC. `close()` ends the HTTP/2 session. */
export const connect = (opts: { url: string; token?: Token; tls?: Tls; timeoutMs?: number }) =>
  grpcClient(CloudPlugin, opts) as Connection<PluginClient>;

/** Connects a plugin to the controller's callback service, authenticated with the plugin's API key. */
export const connectController = (opts: { url: string; token: Token; tls?: Tls }) =>
  grpcClient(Controller, opts) as Connection<ControllerClient>;

/** The same client interface as connect(), calling the implementation in this process. */
export function inProcess(impl: CloudPluginImpl): PluginClient {
  // Calls the implementation directly: no serialization, the same error mapping as over gRPC.
  const mapped = mapErrors(impl) as unknown as Record<
    string,
    (req: unknown, ctx: unknown) => Promise<unknown>
  >;
  const client: Record<string, (req?: unknown) => Promise<unknown>> = {};
  for (const method of CloudPlugin.methods) {
    client[method.localName] = async (req = {}) => {
      const ctx = createHandlerContext({
        service: CloudPlugin,
        method,
        protocolName: 'in-process',
        requestMethod: 'POST',
        url: `in-process:/${CloudPlugin.typeName}/${method.name}`,
      });
      const res = await mapped[method.localName]!(create(method.input, req as never), ctx);
      return create(method.output, res as never);
    };
  }
  return client as unknown as PluginClient;
}

/** An in-process controller client, for trusted plugins and tests. */
export function inProcessController(impl: ControllerImpl): ControllerClient {
  return createClient(Controller, createRouterTransport(controllerRoutes(impl)));
}
