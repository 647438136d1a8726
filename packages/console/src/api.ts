// The API, same origin: the session cookie authenticates, and every write
// carries the console header the controller asks of cookie writes.
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

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: {
      accept: 'application/json',
      'x-skyway-console': '1',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : {};
  if (!res.ok) {
    const e = json.error ?? {};
    throw new ApiError(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? res.statusText, e.field);
  }
  return json as T;
}

let routes: Promise<Set<string>> | undefined;
/** The API's paths, from its OpenAPI document (public, same origin). */
const apiPaths = () => {
  routes ??= fetch('/docs/json')
    .then((r) => r.json())
    .then((doc) => new Set(Object.keys(doc.paths ?? {})));
  return routes;
};

/** GET of a route another module may add (operations, overlays): undefined where this controller has none. */
export async function optional<T = any>(path: string): Promise<T | undefined> {
  if (!(await apiPaths()).has(path.split('?')[0]!)) return undefined;
  return api<T>('GET', path);
}

export const enc = encodeURIComponent;

export interface Me {
  subject: string;
  role: 'viewer' | 'operator' | 'admin';
  namespaces: string[];
}
