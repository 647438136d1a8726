// The callbacks plugins make into the controller (address spaces, ASNs,
// connecting clouds, a key-value store scoped by cloud and namespace). Each
// plugin authenticates with its own revocable API key, which names its cloud.
import type { HandlerContext } from '@connectrpc/connect';
import { allocateAsn, allocatePrefixes, permissionDenied, SerialQueue, unauthenticated } from '@skyway/core';
import type { ControllerImpl } from '@skyway/plugin-sdk';
import { toConnectError } from '@skyway/plugin-sdk';
import type { TokenService } from '../auth/tokens.js';
import type { ConnectivityService } from '../services/connectivity.js';
import type { PluginManager } from '../services/plugins.js';
import type { Store } from '../store/store.js';

export interface CallbackDeps {
  store: Store;
  plugins: PluginManager;
  connectivity: ConnectivityService;
  tokens: TokenService;
  addressPools: string[];
}

/** The identity of the calling plugin: the `plugin` scope of its key, or `trusted` for in-process plugins. */
export type CallerOf = (ctx: HandlerContext) => Promise<string>;

export const bearerCaller =
  (tokens: TokenService): CallerOf =>
  async (ctx) => {
    const m = /^Bearer\s+(\S+)$/i.exec(ctx.requestHeader.get('authorization') ?? '');
    if (!m) throw unauthenticated('plugin API key missing: send "Authorization: Bearer <key>"');
    const claims = await tokens.verify(m[1]!);
    if (claims.scope.kind !== 'plugin')
      throw permissionDenied('only plugin API keys may call the controller service');
    return claims.scope.plugin;
  };

export function controllerService(deps: CallbackDeps, callerOf: CallerOf): ControllerImpl {
  // Allocations one at a time, so two plugins asking at once never get the same prefix or ASN.
  const allocations = new SerialQueue();
  const wrap =
    <Req, Res>(fn: (req: Req, caller: string) => Promise<Res>) =>
    async (req: Req, ctx: HandlerContext) => {
      try {
        return await fn(req, await callerOf(ctx));
      } catch (e) {
        throw toConnectError(e);
      }
    };
  /** Address spaces used by every other cloud's plugin, plus everything the controller handed out. */
  const usedSpaces = async (caller: string) => {
    const used = new Set(await deps.store.allocations('prefix'));
    await Promise.all(
      deps.plugins
        .all()
        .filter((b) => b.cloud !== caller)
        .map(async (b) => {
          const res = await deps.plugins.call(b, 'could not list its address spaces', (c) =>
            c.getUsedAddressSpaces({ deployments: [{ id: b.deployment, namespace: b.namespace }] }),
          );
          for (const m of res.addressSpaceMappings) for (const s of m.addressSpaces) used.add(s);
        }),
    );
    return [...used];
  };
  return {
    findUnusedAddressSpaces: wrap((req: { sizes: number[] }, caller) =>
      allocations.run('alloc', async () => {
        const sizes = req.sizes.length > 0 ? req.sizes : [16];
        const spaces = allocatePrefixes({ pools: deps.addressPools, used: await usedSpaces(caller), sizes });
        await deps.store.transaction(async (tx) => {
          for (const s of spaces) await tx.addAllocation('prefix', s, `plugin:${caller}`);
        });
        return { addressSpaces: spaces };
      }),
    ),
    findUnusedAsn: wrap((_req: unknown, caller) =>
      allocations.run('alloc', async () => {
        const asn = allocateAsn((await deps.store.allocations('asn')).map(Number));
        await deps.store.addAllocation('asn', String(asn), `plugin:${caller}`);
        return { asn };
      }),
    ),
    connectClouds: wrap(async (req: { namespace: string; cloudA: string; cloudB: string }) => {
      await deps.connectivity.ensureConnected(req.namespace || 'default', req.cloudA, req.cloudB);
      return {};
    }),
    setValue: wrap(async (req: { cloud: string; namespace: string; key: string; value: string }, caller) => {
      await deps.store.kvSet(scopeCloud(req.cloud, caller), req.namespace, req.key, req.value);
      return {};
    }),
    getValue: wrap(async (req: { cloud: string; namespace: string; key: string }, caller) => {
      const value = await deps.store.kvGet(scopeCloud(req.cloud, caller), req.namespace, req.key);
      return { found: value !== undefined, value: value ?? '' };
    }),
    deleteValue: wrap(async (req: { cloud: string; namespace: string; key: string }, caller) => {
      await deps.store.kvDelete(scopeCloud(req.cloud, caller), req.namespace, req.key);
      return {};
    }),
  };
}

/** A plugin may only touch its own cloud's keys. */
function scopeCloud(cloud: string, caller: string): string {
  if (cloud && cloud !== caller)
    throw permissionDenied(`plugin "${caller}" may not use the key-value store of cloud "${cloud}"`);
  return caller;
}
