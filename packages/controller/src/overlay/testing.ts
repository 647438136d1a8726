// The SCC API on its own, for tests: an in-memory (or given) store, a root CA
// in memory, tokens, and the agents the test says are connected.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { MemoryRevocationList, type Role, TokenService } from '../auth/tokens.js';
import { CertificateAuthority } from '../ca/ca.js';
import { MemoryCaKeyStore } from '../ca/store.js';
import { installAccess } from '../http/access.js';
import { SecretBox } from '../secrets.js';
import { Store } from '../store/store.js';
import { sccRoutes } from './routes.js';
import { OverlayService, type OverlayServiceOptions } from './service.js';

export interface SccRig {
  app: FastifyInstance;
  overlays: OverlayService;
  store: Store;
  ca: CertificateAuthority;
  /** Agents the rig reports as connected. */
  registered: Set<string>;
  token(role: Role, namespaces?: string[]): Promise<string>;
  call(method: string, url: string, body?: unknown, token?: string): Promise<{ status: number; json: any }>;
  close(): Promise<void>;
}

export async function startSccRig(
  opts: { database?: string; secrets?: SecretBox; service?: Partial<OverlayServiceOptions> } = {},
): Promise<SccRig> {
  const store = await Store.open(opts.database ?? ':memory:');
  const tokens = await TokenService.open({ revocations: new MemoryRevocationList() });
  const ca = await CertificateAuthority.open({ store: new MemoryCaKeyStore() });
  const registered = new Set<string>();
  const overlays = new OverlayService({
    store,
    secrets: opts.secrets ?? SecretBox.ephemeral(),
    root: ca,
    isRegistered: (a) => registered.has(a),
    ...opts.service,
  });
  // The same ajv settings as buildApp: unknown fields are errors, not silently dropped.
  const app = Fastify({
    logger: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  installAccess(app, (t) => tokens.verify(t));
  await app.register(sccRoutes, { prefix: '/scc/v1', overlays });
  await app.ready();
  const token = async (role: Role, namespaces = ['*']) =>
    (await tokens.issue({ subject: 'test', scope: { kind: 'api', role, namespaces }, ttlMs: 3_600_000 }))
      .token;
  const admin = await token('admin');
  return {
    app,
    overlays,
    store,
    ca,
    registered,
    token,
    call: async (method, url, body, tok) => {
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${tok ?? admin}` },
        ...(body === undefined
          ? {}
          : typeof body === 'string'
            ? {
                payload: body,
                headers: { authorization: `Bearer ${tok ?? admin}`, 'content-type': 'application/json' },
              }
            : { payload: body as object }),
      });
      return { status: res.statusCode, json: res.body ? JSON.parse(res.body) : undefined };
    },
    close: async () => {
      await app.close();
      await store.close();
    },
  };
}
