// A complete in-memory CloudPlugin, for tests only (never a default anywhere).
// It behaves like a well-mannered cloud: resources get addresses from an
// address space it owns, start with a deny-all permit list, and VPN gateways
// and connections are recorded so tests can look at both sides.
import { create } from '@bufbuild/protobuf';
import {
  cidrContains,
  failedPrecondition,
  formatIp,
  invalidArgument,
  notFound,
  parseCidr,
  parseIp,
} from '@skyway/core';
import { type ParagliderDeployment, type PermitListRule, PermitListRuleSchema } from '@skyway/proto/plugin';
import type { CloudPluginImpl, ControllerClient } from '../contract.js';
import { parseResourceDescription } from '../networking.js';
import { checkPermitListRule, permitListRuleFields } from '../permit-rule.js';

export interface FakePluginOptions {
  /** The cloud this instance plays, e.g. "cloud-a". Decides its fixed address space and gateway IP. */
  cloud: string;
  /** When given, address spaces come from FindUnusedAddressSpaces and ASNs (when asked for 0) from FindUnusedAsn. */
  controller?: ControllerClient;
  /** Describe's name and version (default "fake", "0.1.0"). */
  name?: string;
  version?: string;
  /** Added to the clock Describe reports, to test skew checks. */
  clockOffsetMs?: number;
  /** What CheckCredentials answers (default ok). */
  credentials?: { ok: boolean; message?: string };
}

export interface FakeResource {
  name: string;
  uri: string;
  ip: string;
  namespace: string;
  deployment: string;
  state: string;
  addressSpace: string;
  description: Record<string, unknown>;
  rules: PermitListRule[];
  /** Changes made past the plugin (see `deviate`), undone when rules are next applied. */
  deviations: string[];
}

export interface FakeGateway {
  namespace: string;
  deployment: string;
  remoteCloud: string;
  asn: number;
  gatewayIpAddresses: string[];
  bgpPeeringIpAddresses: string[];
}

export interface FakeConnection {
  namespace: string;
  deployment: string;
  remoteCloud: string;
  asn: number;
  gatewayIpAddresses: string[];
  bgpIpAddresses: string[];
  sharedKey: string;
}

export interface FakeState {
  resources: FakeResource[];
  gateways: FakeGateway[];
  connections: FakeConnection[];
  addressSpaces: { namespace: string; deployment: string; addressSpaces: string[] }[];
}

export type FakePlugin = CloudPluginImpl & {
  readonly cloud: string;
  /** A deep copy of everything the fake holds. */
  snapshot(): FakeState;
  /** Something changes on a resource that no rule accounts for, as a person might change it by hand. */
  deviate(namespace: string, uri: string, what: string): void;
};

interface DeploymentState {
  id: string;
  namespace: string;
  spaces: string[];
  /** next host offset per address space */
  next: Map<string, number>;
  allocating?: Promise<string>;
}

/** FNV-1a, so fixed addresses are stable across runs and processes. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const SEP = '\u0000';
const depKey = (namespace: string, id: string) => `${namespace}${SEP}${id}`;
const BASE_198_18 = parseIp('198.18.0.0');
const FIRST_HOST = 4; // like the clouds, keep the first few addresses of a space for the "platform"

/** The public gateway addresses the fake reports for a cloud: deterministic, inside 198.18.0.0/15. */
export function fakeGatewayIps(cloud: string, count = 1): string[] {
  const offset = (fnv1a(cloud) % 32768) * 4;
  return Array.from({ length: Math.min(Math.max(count, 1), 3) }, (_, i) =>
    formatIp(BASE_198_18 + offset + 1 + i),
  );
}

function requireDeployment(d: ParagliderDeployment | undefined, field = 'deployment'): ParagliderDeployment {
  if (!d) throw invalidArgument(`${field} is required`, field);
  if (!d.id) throw invalidArgument(`${field}.id is required`, `${field}.id`);
  return d;
}

function checkIp(s: string, field: string): void {
  parseIp(s, field);
}

const copyRule = (r: PermitListRule): PermitListRule => create(PermitListRuleSchema, permitListRuleFields(r));

/** Creates an in-memory CloudPlugin playing `cloud`. For tests only. */
export function createFakePlugin(opts: FakePluginOptions): FakePlugin {
  const { cloud, controller } = opts;
  if (!cloud) throw invalidArgument('cloud is required', 'cloud');
  const deployments = new Map<string, DeploymentState>();
  const resources = new Map<string, FakeResource>();
  const gateways = new Map<string, FakeGateway>();
  const connections = new Map<string, FakeConnection>();
  let fixedSpaces = 0;

  const deployment = (d: ParagliderDeployment): DeploymentState => {
    const key = depKey(d.namespace, d.id);
    let s = deployments.get(key);
    if (!s) {
      s = { id: d.id, namespace: d.namespace, spaces: [], next: new Map() };
      deployments.set(key, s);
    }
    return s;
  };

  const matches = (filter: ParagliderDeployment[], namespace: string, id: string) =>
    filter.length === 0 || filter.some((f) => f.namespace === namespace && f.id === id);

  async function newSpace(s: DeploymentState): Promise<string> {
    let space: string;
    if (controller) {
      const res = await controller.findUnusedAddressSpaces({ sizes: [16] });
      space = res.addressSpaces[0] ?? '';
      if (!space) throw failedPrecondition('the controller returned no free address space', 'POOL_EXHAUSTED');
    } else {
      // 10.16.0.0/16 - 10.255.0.0/16, derived from the cloud name, then the next ones.
      const second = 16 + ((fnv1a(cloud) + fixedSpaces++) % 240);
      space = `10.${second}.0.0/16`;
    }
    s.spaces.push(space);
    s.next.set(space, FIRST_HOST);
    return space;
  }

  async function allocateIp(s: DeploymentState): Promise<{ ip: string; space: string }> {
    for (;;) {
      for (const space of s.spaces) {
        const c = parseCidr(space, 'address space', { allowHostBits: true });
        const n = s.next.get(space) ?? FIRST_HOST;
        if (n < 2 ** (32 - c.prefix) - 1) {
          s.next.set(space, n + 1);
          return { ip: formatIp(c.base + n), space };
        }
      }
      // One allocation at a time per deployment, so concurrent creates share the new space.
      if (!s.allocating) {
        s.allocating = newSpace(s).finally(() => {
          s.allocating = undefined;
        });
      }
      await s.allocating;
    }
  }

  function resource(namespace: string, uri: string, field = 'resource'): FakeResource {
    if (!uri) throw invalidArgument(`${field} is required`, field);
    const r = resources.get(uri);
    if (!r || r.namespace !== namespace) {
      throw notFound(`resource ${uri} does not exist in namespace "${namespace}" of ${cloud}`);
    }
    return r;
  }

  const usedAsns = () => [...gateways.values()].map((g) => g.asn);

  const impl: FakePlugin = {
    cloud,

    deviate(namespace, uri, what) {
      resource(namespace, uri).deviations.push(what);
    },

    snapshot(): FakeState {
      return structuredClone({
        resources: [...resources.values()].map((r) => ({ ...r, rules: r.rules.map((x) => ({ ...x })) })),
        gateways: [...gateways.values()],
        connections: [...connections.values()],
        addressSpaces: [...deployments.values()].map((d) => ({
          namespace: d.namespace,
          deployment: d.id,
          addressSpaces: [...d.spaces],
        })),
      }) as FakeState;
    },

    async createResource(req) {
      const d = requireDeployment(req.deployment);
      if (!req.name) throw invalidArgument('name is required', 'name');
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(req.name)) {
        throw invalidArgument(`name "${req.name}" must be 1-63 letters, digits, ".", "_" or "-"`, 'name');
      }
      const description = parseResourceDescription(req.description);
      const uri = `fake://${cloud}/${encodeURIComponent(d.namespace)}/${encodeURIComponent(d.id)}/${req.name}`;
      const existing = resources.get(uri);
      if (existing) return { name: existing.name, uri: existing.uri, ip: existing.ip }; // idempotent
      const s = deployment(d);
      const { ip, space } = await allocateIp(s);
      resources.set(uri, {
        name: req.name,
        uri,
        ip,
        namespace: d.namespace,
        deployment: d.id,
        state: 'running',
        addressSpace: space,
        description,
        rules: [], // deny-all: nothing is permitted until a rule says so
        deviations: [],
      });
      return { name: req.name, uri, ip };
    },

    async attachResource(req) {
      // The fake's resource ids are its URIs; one it holds (made past the controller) can be attached.
      const r = resource(req.namespace, req.resource);
      if (req.deployment?.id && req.deployment.id !== r.deployment) {
        throw notFound(`resource ${req.resource} is not in deployment "${req.deployment.id}" of ${cloud}`);
      }
      return { name: r.name, uri: r.uri, ip: r.ip };
    },

    async getPermitList(req) {
      const r = resource(req.namespace, req.resource);
      return { rules: r.rules.map(copyRule), deviations: [...r.deviations] };
    },

    async addPermitListRules(req) {
      const r = resource(req.namespace, req.resource);
      req.rules.forEach((rule, i) => {
        checkPermitListRule(rule, `rules[${i}]`);
      });
      for (const rule of req.rules) {
        const at = r.rules.findIndex((x) => x.name === rule.name);
        if (at >= 0) r.rules[at] = copyRule(rule);
        else r.rules.push(copyRule(rule));
      }
      r.deviations = [];
      return {};
    },

    async deletePermitListRules(req) {
      const r = resource(req.namespace, req.resource);
      const names = new Set(req.ruleNames);
      r.rules = r.rules.filter((x) => !names.has(x.name));
      return {};
    },

    async getUsedAddressSpaces(req) {
      return {
        addressSpaceMappings: [...deployments.values()]
          .filter((d) => d.spaces.length > 0 && matches(req.deployments, d.namespace, d.id))
          .map((d) => ({ addressSpaces: [...d.spaces], cloud, namespace: d.namespace, deployment: d.id })),
      };
    },

    async createVpnGateway(req) {
      const d = requireDeployment(req.deployment);
      if (!req.cloud) throw invalidArgument('cloud (the remote cloud) is required', 'cloud');
      req.bgpPeeringIpAddresses.forEach((ip, i) => {
        checkIp(ip, `bgp_peering_ip_addresses[${i}]`);
      });
      const key = `${depKey(d.namespace, d.id)}${SEP}${req.cloud}`;
      const existing = gateways.get(key);
      if (existing) {
        if (req.asn !== 0 && req.asn !== existing.asn) {
          throw failedPrecondition(
            `the VPN gateway of ${cloud} towards ${req.cloud} already exists with ASN ${existing.asn}, not ${req.asn}`,
          );
        }
        for (const ip of req.bgpPeeringIpAddresses) {
          if (!existing.bgpPeeringIpAddresses.includes(ip)) existing.bgpPeeringIpAddresses.push(ip);
        }
        return { asn: existing.asn, gatewayIpAddresses: [...existing.gatewayIpAddresses] };
      }
      let asn = req.asn;
      if (asn === 0) {
        if (controller) asn = (await controller.findUnusedAsn({})).asn;
        else {
          const used = new Set(usedAsns());
          asn = 64512 + (fnv1a(cloud) % 1000);
          while (used.has(asn)) asn++;
        }
      }
      const gw: FakeGateway = {
        namespace: d.namespace,
        deployment: d.id,
        remoteCloud: req.cloud,
        asn,
        gatewayIpAddresses: fakeGatewayIps(cloud, req.bgpPeeringIpAddresses.length),
        bgpPeeringIpAddresses: [...req.bgpPeeringIpAddresses],
      };
      gateways.set(key, gw);
      return { asn, gatewayIpAddresses: [...gw.gatewayIpAddresses] };
    },

    async getUsedAsns(req) {
      const asns = [...gateways.values()]
        .filter((g) => matches(req.deployments, g.namespace, g.deployment))
        .map((g) => g.asn);
      return { asns: [...new Set(asns)].sort((a, b) => a - b) };
    },

    async getUsedBgpPeeringIpAddresses(req) {
      const ips = [...gateways.values()]
        .filter((g) => matches(req.deployments, g.namespace, g.deployment))
        .flatMap((g) => g.bgpPeeringIpAddresses);
      return { ipAddresses: [...new Set(ips)] };
    },

    async createVpnConnections(req) {
      const d = requireDeployment(req.deployment);
      if (!req.cloud) throw invalidArgument('cloud (the remote cloud) is required', 'cloud');
      if (!req.asn) throw invalidArgument('asn (the remote ASN) is required', 'asn');
      if (req.gatewayIpAddresses.length === 0) {
        throw invalidArgument(
          'gateway_ip_addresses must name at least one remote address',
          'gateway_ip_addresses',
        );
      }
      req.gatewayIpAddresses.forEach((ip, i) => {
        checkIp(ip, `gateway_ip_addresses[${i}]`);
      });
      req.bgpIpAddresses.forEach((ip, i) => {
        checkIp(ip, `bgp_ip_addresses[${i}]`);
      });
      if (!req.sharedKey) throw invalidArgument('shared_key is required', 'shared_key');
      const key = `${depKey(d.namespace, d.id)}${SEP}${req.cloud}`;
      if (!gateways.has(key)) {
        throw failedPrecondition(
          `${cloud} has no VPN gateway towards ${req.cloud}; call CreateVpnGateway first`,
        );
      }
      connections.set(key, {
        namespace: d.namespace,
        deployment: d.id,
        remoteCloud: req.cloud,
        asn: req.asn,
        gatewayIpAddresses: [...req.gatewayIpAddresses],
        bgpIpAddresses: [...req.bgpIpAddresses],
        sharedKey: req.sharedKey,
      });
      return {};
    },

    async deleteResource(req) {
      const d = requireDeployment(req.deployment);
      if (!req.resource) throw invalidArgument('resource is required', 'resource');
      const r = resources.get(req.resource);
      if (r && r.namespace === d.namespace && r.deployment === d.id) resources.delete(req.resource);
      return {}; // deleting what is gone is not an error: callers retry
    },

    async listResources(req) {
      return {
        resources: [...resources.values()]
          .filter((r) => matches(req.deployments, r.namespace, r.deployment))
          .map((r) => ({
            name: r.name,
            uri: r.uri,
            ip: r.ip,
            namespace: r.namespace,
            deployment: r.deployment,
            state: r.state,
            addressSpace: r.addressSpace,
          })),
      };
    },

    async checkCredentials() {
      return opts.credentials ?? { ok: true, message: '' };
    },

    async deleteVpnConnections(req) {
      const d = requireDeployment(req.deployment);
      if (!req.cloud) throw invalidArgument('cloud (the remote cloud) is required', 'cloud');
      connections.delete(`${depKey(d.namespace, d.id)}${SEP}${req.cloud}`);
      return {};
    },

    async getNetworkAddressSpaces(req) {
      const d = requireDeployment(req.deployment);
      return { addressSpaces: [...(deployments.get(depKey(d.namespace, d.id))?.spaces ?? [])] };
    },

    async describe() {
      return {
        name: opts.name ?? 'fake',
        version: opts.version ?? '0.1.0',
        capabilities: ['permit-lists', 'vpn'],
        nowUnixMs: BigInt(Date.now() + (opts.clockOffsetMs ?? 0)),
      };
    },
  };
  return impl;
}

/** True when `ip` lies in one of `spaces` (helper for tests of plugins). */
export const ipInSpaces = (ip: string, spaces: string[]) =>
  spaces.some((s) => cidrContains(parseCidr(s, 'space', { allowHostBits: true }), parseCidr(ip, 'ip')));
