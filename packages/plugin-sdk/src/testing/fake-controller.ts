// An in-memory controller callback service (ControllerImpl) for plugin tests:
// hands out address spaces and ASNs that never repeat, and keeps a kv store.
import { allocateAsn, allocatePrefixes, invalidArgument } from '@skyway/core';
import type { ConnectCloudsRequest } from '@skyway/proto/controller';
import type { ControllerImpl } from '../contract.js';

export interface FakeControllerOptions {
  /** Pools for address spaces (default 10.0.0.0/8). */
  pools?: string[];
  /** Address spaces to treat as taken from the start. */
  used?: string[];
  /** ASNs to treat as taken from the start. */
  usedAsns?: number[];
}

export type FakeController = ControllerImpl & {
  /** Everything handed out and stored so far. */
  readonly addressSpaces: string[];
  readonly asns: number[];
  readonly connectCalls: Pick<
    ConnectCloudsRequest,
    'cloudA' | 'cloudADeployment' | 'cloudB' | 'cloudBDeployment' | 'namespace'
  >[];
  readonly kv: Map<string, string>;
};

const kvKey = (r: { cloud: string; namespace: string; key: string }) => {
  if (!r.key) throw invalidArgument('key is required', 'key');
  return `${r.cloud}\u0000${r.namespace}\u0000${r.key}`;
};

export function createFakeController(opts: FakeControllerOptions = {}): FakeController {
  const addressSpaces: string[] = [];
  const asns: number[] = [];
  const connectCalls: FakeController['connectCalls'] = [];
  const kv = new Map<string, string>();
  return {
    addressSpaces,
    asns,
    connectCalls,
    kv,
    async findUnusedAddressSpaces(req) {
      const sizes = req.sizes.length ? req.sizes : [16];
      const got = allocatePrefixes({
        pools: opts.pools,
        used: [...(opts.used ?? []), ...addressSpaces],
        sizes,
      });
      addressSpaces.push(...got);
      return { addressSpaces: got };
    },
    async findUnusedAsn() {
      const asn = allocateAsn([...(opts.usedAsns ?? []), ...asns]);
      asns.push(asn);
      return { asn };
    },
    async connectClouds(req) {
      connectCalls.push({
        cloudA: req.cloudA,
        cloudADeployment: req.cloudADeployment,
        cloudB: req.cloudB,
        cloudBDeployment: req.cloudBDeployment,
        namespace: req.namespace,
      });
      return {};
    },
    async setValue(req) {
      kv.set(kvKey(req), req.value);
      return {};
    },
    async getValue(req) {
      const k = kvKey(req);
      return kv.has(k) ? { found: true, value: kv.get(k)! } : { found: false, value: '' };
    },
    async deleteValue(req) {
      kv.delete(kvKey(req));
      return {};
    },
  };
}
