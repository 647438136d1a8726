// The services an agent reaches inside its network, and the credentials it
// adds to every forwarded request. Credentials are read from files or the
// environment and never leave the agent.
import { readFileSync } from 'node:fs';
import type { OutgoingHttpHeaders } from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { sharedReadBuffer } from './blocks.js';
import { inClusterConfig, type KubeTarget, loadKubeconfig } from './kubeconfig.js';
import { OriginPool } from './origin-pool.js';
import { S3ChunkSigner } from './s3-chunks.js';
import { isOneLine, secretFrom } from './secret-source.js';
import {
  type AwsCredentials,
  credentialScope,
  isSigV4a,
  queryAuth,
  RefusedRequest,
  s3PayloadHash,
  signV4,
  streamingSigned,
} from './sigv4.js';

export const builtinServiceTypes = ['kubernetes', 'jenkins', 'argocd', 'aws'];

export type CredentialsConfig = {
  type: 'none' | 'basic' | 'bearer' | 'token' | 'kubeconfig' | 'in-cluster' | 'aws';
} & Record<string, unknown>;

export interface ServiceConfig {
  name: string;
  type: string;
  /** Where the service listens, e.g. http://10.0.0.5:8080 (optional for kubernetes and aws). */
  url?: string;
  annotations?: Record<string, string>;
  credentials?: CredentialsConfig;
  /** A CA bundle to verify the service's TLS certificate. */
  caFile?: string;
  insecureSkipVerify?: boolean;
}

const namePattern = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;
const typePattern = /^x-[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/;

export interface Target {
  https: boolean;
  hostname: string;
  port: number;
  basePath: string;
  host: string;
}

function parseTarget(url: string, what: string): Target {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`${what}: url "${url}" is not a valid URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new Error(`${what}: url must be http or https`);
  const isHttps = u.protocol === 'https:';
  return {
    https: isHttps,
    hostname: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || (isHttps ? 443 : 80)),
    basePath: u.pathname.replace(/\/$/, ''),
    host: u.host,
  };
}

export interface ForwardContext {
  method: string;
  /** Path and query as the caller sent them. */
  path: string;
  headers: OutgoingHttpHeaders;
  /** The caller's Authorization header (only the aws type reads it, for its region and service). */
  callerAuthorization?: string;
  /** Set by `authorize` when the body's chunks must be re-signed on the way (S3 streaming uploads). */
  bodySigner?: S3ChunkSigner;
}

export class Service {
  readonly name: string;
  readonly type: string;
  readonly annotations: Record<string, string>;
  /** True when the body must be buffered before signing (AWS, except S3). */
  readonly needsBody: boolean = false;
  /** Connections to the service waiting for another request (see origin-pool.ts). */
  readonly pool = new OriginPool();
  private readonly target?: Target;
  private readonly tlsOpts: tls.ConnectionOptions;
  private readonly authorizeFn: (ctx: ForwardContext, body?: Buffer) => Target;

  constructor(cfg: ServiceConfig) {
    const what = `service ${cfg.type}/${cfg.name}`;
    if (!namePattern.test(cfg.name ?? ''))
      throw new Error(`${what}: name must be a lowercase DNS-like label`);
    if (!builtinServiceTypes.includes(cfg.type) && !typePattern.test(cfg.type ?? ''))
      throw new Error(
        `${what}: type must be one of ${builtinServiceTypes.join(', ')} or a custom x-... type`,
      );
    this.name = cfg.name;
    this.type = cfg.type;
    this.annotations = { ...(cfg.annotations ?? {}) };
    const creds = cfg.credentials ?? { type: 'none' };
    const tlsOpts: tls.ConnectionOptions = {
      ca: cfg.caFile ? readFileSync(cfg.caFile, 'utf8') : undefined,
      rejectUnauthorized: cfg.insecureSkipVerify !== true,
    };
    let kube: KubeTarget | undefined;
    if (creds.type === 'kubeconfig')
      kube = loadKubeconfig(String(creds.path), creds.context as string | undefined);
    else if (creds.type === 'in-cluster') kube = inClusterConfig();
    if (kube) {
      tlsOpts.ca = kube.ca ?? tlsOpts.ca;
      tlsOpts.cert = kube.cert;
      tlsOpts.key = kube.key;
      if (kube.insecureSkipVerify) tlsOpts.rejectUnauthorized = false;
    }
    this.tlsOpts = tlsOpts;
    const url = cfg.url ?? kube?.server;
    if (url) this.target = parseTarget(url, what);
    else if (creds.type !== 'aws') throw new Error(`${what}: url is required`);
    const fixed = () => this.target!;
    const setAuth = (value: () => string) => (ctx: ForwardContext) => {
      ctx.headers.authorization = value();
      return fixed();
    };
    switch (creds.type) {
      case 'none':
        this.authorizeFn = fixed;
        break;
      case 'basic': {
        const user = req(secretFrom(creds, 'username', `${what} username`), `${what}: basic needs username`);
        const pass = req(secretFrom(creds, 'password', `${what} password`), `${what}: basic needs password`);
        this.authorizeFn = setAuth(
          () => `Basic ${Buffer.from(`${user.get()}:${pass.get()}`).toString('base64')}`,
        );
        break;
      }
      case 'bearer': {
        const token = req(secretFrom(creds, 'token', `${what} token`), `${what}: bearer needs token`);
        this.authorizeFn = setAuth(() => `Bearer ${token.get()}`);
        break;
      }
      case 'token': {
        const token = req(secretFrom(creds, 'token', `${what} token`), `${what}: token needs token`);
        const header = String(creds.header ?? 'authorization').toLowerCase();
        if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(header))
          throw new Error(`${what}: credentials.header "${header}" is not a valid header name`);
        const prefix = creds.prefix === undefined ? 'Token ' : String(creds.prefix);
        if (!isOneLine(prefix)) throw new Error(`${what}: credentials.prefix must be one line`);
        this.authorizeFn = (ctx) => {
          ctx.headers[header] = `${prefix}${token.get()}`;
          return fixed();
        };
        break;
      }
      case 'kubeconfig':
      case 'in-cluster': {
        const k = kube!;
        if (k.token) {
          const t = k.token;
          this.authorizeFn = setAuth(() => `Bearer ${t.get()}`);
        } else if (k.basic) {
          const b = `Basic ${Buffer.from(`${k.basic.username}:${k.basic.password}`).toString('base64')}`;
          this.authorizeFn = setAuth(() => b);
        } else this.authorizeFn = fixed;
        break;
      }
      case 'aws': {
        const id = req(
          secretFrom(creds, 'accessKeyId', `${what} accessKeyId`),
          `${what}: aws needs accessKeyId`,
        );
        const secret = req(
          secretFrom(creds, 'secretAccessKey', `${what} secretAccessKey`),
          `${what}: aws needs secretAccessKey`,
        );
        const session = secretFrom(creds, 'sessionToken', `${what} sessionToken`);
        const region = creds.region as string | undefined;
        const awsService = creds.service as string | undefined;
        this.needsBody = awsService !== 's3';
        this.authorizeFn = (ctx, body) => {
          // A presigned URL is signed again like any request, in headers.
          const presigned = queryAuth(ctx.path);
          if (presigned) ctx.path = presigned.path;
          const callerAuthorization = ctx.callerAuthorization ?? presigned?.authorization;
          const scope = credentialScope(callerAuthorization);
          const contentSha256 = oneHeader(ctx, 'x-amz-content-sha256');
          // Signed as the caller signed: SigV4a is what multi-region endpoints accept.
          const regionSet = isSigV4a(callerAuthorization, contentSha256)
            ? regionSetOf(oneHeader(ctx, 'x-amz-region-set') ?? presigned?.regionSet ?? region ?? '*')
            : undefined;
          const r = region ?? scope?.region;
          const s = awsService ?? scope?.service;
          if (!s || (!r && regionSet === undefined))
            throw new Error(
              `${what}: region and service are neither configured nor in the caller's signature`,
            );
          if (!r && !this.target)
            throw new Error(
              `${what}: a SigV4a signature names no region to send to; configure the service's url (or its region)`,
            );
          const target = this.target ?? parseTarget(`https://${s}.${r}.amazonaws.com`, what);
          const credentials: AwsCredentials = {
            accessKeyId: id.get(),
            secretAccessKey: secret.get(),
            sessionToken: session?.get(),
          };
          const payload = s === 's3' ? s3PayloadHash(contentSha256) : (body ?? 'UNSIGNED-PAYLOAD');
          const signed = signV4({
            method: ctx.method,
            host: target.host,
            path: target.basePath + ctx.path,
            headers: ctx.headers as Record<string, string>,
            body: payload,
            region: r ?? '',
            service: s,
            credentials,
            regionSet,
          });
          const streaming = typeof payload === 'string' && streamingSigned.exec(payload);
          if (streaming) ctx.bodySigner = new S3ChunkSigner(signed, streaming[2] !== undefined);
          return target;
        };
        break;
      }
      default:
        throw new Error(`${what}: unknown credentials type "${(creds as { type: string }).type}"`);
    }
  }

  get key() {
    return `${this.type}/${this.name}`;
  }

  /** Adds the agent's credentials to `ctx.headers` and returns where to send the request. */
  authorize(ctx: ForwardContext, body?: Buffer): Target {
    return this.authorizeFn(ctx, body);
  }

  /**
   * A connection of its own to the service (the relay keeps one per caller
   * connection). A plain TCP connection given `onRead` reads into the shared
   * buffer and hands each read to it (return false to pause) instead of
   * emitting 'data'; a TLS connection always emits 'data'.
   */
  connect(target: Target, onRead?: (n: number, buf: Buffer) => boolean): net.Socket {
    const s = target.https
      ? tls.connect({
          host: target.hostname,
          port: target.port,
          servername: net.isIP(target.hostname) ? undefined : target.hostname,
          ca: this.tlsOpts.ca,
          cert: this.tlsOpts.cert,
          key: this.tlsOpts.key,
          rejectUnauthorized: this.tlsOpts.rejectUnauthorized,
          ALPNProtocols: ['http/1.1'],
        })
      : onRead
        ? net.connect({
            port: target.port,
            host: target.hostname,
            onread: { buffer: sharedReadBuffer, callback: onRead },
          })
        : net.connect(target.port, target.hostname);
    s.setNoDelay(true);
    return s;
  }

  /** Closes the connections waiting for another request. */
  close() {
    this.pool.close();
  }
}

/** A SigV4a region set: "*" or region names separated by commas. */
function regionSetOf(value: string): string {
  const set = value.replace(/\s+/g, '');
  if (!/^(\*|[a-z0-9-]+(,[a-z0-9-]+)*)$/.test(set))
    throw new RefusedRequest(`x-amz-region-set ${JSON.stringify(value)} is not "*" or a list of regions`);
  return set;
}

function oneHeader(ctx: ForwardContext, name: string): string | undefined {
  const v = ctx.headers[name];
  return typeof v === 'string' ? v : undefined;
}

function req<T>(v: T | undefined, message: string): T {
  if (v === undefined) throw new Error(message);
  return v;
}
