// The callbacks plugins make into the controller (address spaces, ASNs,
// connecting clouds, a key-value store scoped by cloud and namespace). Each
// plugin authenticates with its own revocable API key, which names the
// (namespace, cloud) bindings it serves; every call is confined to those.
import type { HandlerContext } from '@connectrpc/connect';
import {
  allocateAsn,
  allocatePrefixes,
  invalidArgument,
  permissionDenied,
  SerialQueue,
  unauthenticated,
} from '@skyway/core';
import type { ControllerImpl } from '@skyway/plugin-sdk';
import { toConnectError } from '@skyway/plugin-sdk';
import type { PluginKeyBinding, TokenService } from '../auth/tokens.js';
import type { SecretBox } from '../secrets.js';
import type { ConnectivityService } from '../services/connectivity.js';
import type { PluginManager } from '../services/plugins.js';
import type { Store } from '../store/store.js';

export interface CallbackDeps {
  store: Store;
  plugins: PluginManager;
  connectivity: ConnectivityService;
  tokens: TokenService;
  /** Seals KV values at rest. */
  secrets: SecretBox;
  addressPools: string[];
}

/** Who is calling: the plugin and the (namespace, cloud) bindings its key was issued for. */
export interface PluginCaller {
  plugin: string;
  bindings: PluginKeyBinding[];
}

/** The identity of the calling plugin: from its key, or given directly for in-process plugins. */
export type CallerOf = (ctx: HandlerContext) => Promise<PluginCaller>;

export const bearerCaller =
  (tokens: TokenService): CallerOf =>
  async (ctx) => {
    const m = /^Bearer\s+(\S+)$/i.exec(ctx.requestHeader.get('authorization') ?? '');
    if (!m) throw unauthenticated('plugin API key missing: send "Authorization: Bearer <key>"');
    const claims = await tokens.verify(m[1]!);
    if (claims.scope.kind !== 'plugin')
      throw permissionDenied('only plugin API keys may call the controller service');
    // Keys from before bindings existed act for nothing.
    const bindings = Array.isArray(claims.scope.bindings) ? claims.scope.bindings : [];
    if (bindings.length === 0)
      throw permissionDenied('this plugin key is bound to no cloud; it acts for nothing');
    return { plugin: claims.scope.plugin, bindings };
  };

const label = (b: PluginKeyBinding) => `${b.namespace}/${b.cloud}`;

/**
 * The binding a request acts for: the (namespace, cloud) it names, which must be one of
 * the caller's; when it names none, the caller's only binding.
 */
export function bindingFor(caller: PluginCaller, namespace = '', cloud = ''): PluginKeyBinding {
  const fits = caller.bindings.filter(
    (b) => (!namespace || b.namespace === namespace) && (!cloud || b.cloud === cloud),
  );
  if (fits.length === 1) return fits[0]!;
  if (fits.length > 1)
    throw invalidArgument(
      `this key serves ${caller.bindings.map(label).join(', ')}: name the namespace and cloud`,
      namespace ? 'cloud' : 'namespace',
    );
  const field = namespace && !caller.bindings.some((b) => b.namespace === namespace) ? 'namespace' : 'cloud';
  throw permissionDenied(
    `plugin "${caller.plugin}" serves ${caller.bindings.map(label).join(', ')}, not ${namespace || '*'}/${cloud || '*'} (${field})`,
  );
}

export function controllerService(deps: CallbackDeps, callerOf: CallerOf): ControllerImpl {
  // Allocations one at a time, so two plugins asking at once never get the same prefix or ASN.
  const allocations = new SerialQueue();
  const wrap =
    <Req, Res>(fn: (req: Req, caller: PluginCaller) => Promise<Res>) =>
    async (req: Req, ctx: HandlerContext) => {
      try {
        return await fn(req, await callerOf(ctx));
      } catch (e) {
        throw toConnectError(e);
      }
    };
  /** Address spaces used by every other cloud's plugin, plus everything the controller handed out. */
  const usedSpaces = async (self: PluginKeyBinding) => {
    const used = new Set(await deps.store.allocations('prefix'));
    await Promise.all(
      deps.plugins
        .all()
        .filter((b) => b.cloud !== self.cloud || b.namespace !== self.namespace)
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
        const self = bindingFor(caller);
        const sizes = req.sizes.length > 0 ? req.sizes : [16];
        const spaces = allocatePrefixes({ pools: deps.addressPools, used: await usedSpaces(self), sizes });
        await deps.store.transaction(async (tx) => {
          for (const s of spaces) await tx.addAllocation('prefix', s, `plugin:${label(self)}`);
        });
        return { addressSpaces: spaces };
      }),
    ),
    findUnusedAsn: wrap((_req: unknown, caller) =>
      allocations.run('alloc', async () => {
        const self = bindingFor(caller);
        const asn = allocateAsn((await deps.store.allocations('asn')).map(Number));
        await deps.store.addAllocation('asn', String(asn), `plugin:${label(self)}`);
        return { asn };
      }),
    ),
    connectClouds: wrap(async (req: { namespace: string; cloudA: string; cloudB: string }, caller) => {
      // A plugin may ask to connect its own cloud, in its own namespace, to another cloud there.
      const namespace = req.namespace || bindingFor(caller).namespace;
      const own = caller.bindings.filter((b) => b.namespace === namespace).map((b) => b.cloud);
      if (!own.includes(req.cloudA) && !own.includes(req.cloudB)) {
        bindingFor(caller, namespace, req.cloudA); // throws, naming what the key serves
      }
      await deps.connectivity.ensureConnected(namespace, req.cloudA, req.cloudB);
      return {};
    }),
    // The key-value store is keyed by the caller's own (namespace, cloud), never by what it asks for;
    // its values are sealed at rest.
    setValue: wrap(async (req: { cloud: string; namespace: string; key: string; value: string }, caller) => {
      const b = bindingFor(caller, req.namespace, req.cloud);
      await deps.store.kvSet(b.cloud, b.namespace, req.key, deps.secrets.seal(req.value));
      return {};
    }),
    getValue: wrap(async (req: { cloud: string; namespace: string; key: string }, caller) => {
      const b = bindingFor(caller, req.namespace, req.cloud);
      const value = await deps.store.kvGet(b.cloud, b.namespace, req.key);
      return { found: value !== undefined, value: value === undefined ? '' : deps.secrets.openLegacy(value) };
    }),
    deleteValue: wrap(async (req: { cloud: string; namespace: string; key: string }, caller) => {
      const b = bindingFor(caller, req.namespace, req.cloud);
      await deps.store.kvDelete(b.cloud, b.namespace, req.key);
      return {};
    }),
  };
}
