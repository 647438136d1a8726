// The CLI's HTTP client for the controller's REST API. Address and token come
// from flags, then $SKYWAY_URL/$SKYWAY_TOKEN, then the files the controller
// wrote into $SKYWAY_HOME on first start. An https controller is trusted
// through its own CA ($SKYWAY_CA_FILE, else $SKYWAY_HOME/ca/ca.crt), not the
// system's roots.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export const skywayHome = () => process.env.SKYWAY_HOME ?? join(process.env.HOME ?? '/root', '.skyway');

const readOr = (file: string) => {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
};

export interface ApiClient {
  url: string;
  get<T = unknown>(path: string): Promise<T>;
  post<T = unknown>(path: string, body?: unknown): Promise<T>;
  put<T = unknown>(path: string, body?: unknown): Promise<T>;
  delete<T = unknown>(path: string): Promise<T>;
  /** The raw response, for streams (events). */
  raw(path: string, init?: RequestInit): Promise<Response>;
}

export function createApiClient(opts: { url?: string; token?: string } = {}): ApiClient {
  const home = skywayHome();
  const url = (
    opts.url ??
    process.env.SKYWAY_URL ??
    readOr(join(home, 'url')) ??
    'http://127.0.0.1:7070'
  ).replace(/\/$/, '');
  const token = opts.token ?? process.env.SKYWAY_TOKEN ?? readOr(join(home, 'admin.token'));
  const caFile = process.env.SKYWAY_CA_FILE ?? join(home, 'ca', 'ca.crt');
  const ca = url.startsWith('https:') ? readOr(caFile) : undefined;
  const dispatcher = ca ? new Agent({ connect: { ca } }) : undefined;
  const raw = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    try {
      if (!dispatcher) return await fetch(`${url}${path}`, { ...init, headers });
      return (await undiciFetch(`${url}${path}`, {
        ...(init as object),
        headers: Object.fromEntries(headers.entries()),
        dispatcher,
      })) as unknown as Response;
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new ApiError(
        0,
        'UNAVAILABLE',
        `cannot reach the controller at ${url} (${cause}); is "skyway serve" running?`,
      );
    }
  };
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await raw(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const json = text ? JSON.parse(text) : undefined;
    if (!res.ok) {
      const err = json?.error ?? {};
      throw new ApiError(
        res.status,
        err.code ?? `HTTP_${res.status}`,
        err.message ?? res.statusText,
        err.field,
      );
    }
    return json as T;
  };
  return {
    url,
    raw,
    get: (p) => call('GET', p),
    post: (p, b) => call('POST', p, b ?? {}),
    put: (p, b) => call('PUT', p, b ?? {}),
    delete: (p) => call('DELETE', p),
  };
}
