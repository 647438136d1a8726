// How the lab cloud names what it makes. Every namespace starts with
// `sky.<cloud>.` (the shared internet is `sky.inet` unless configured), so a
// teardown by prefix finds exactly one cloud. Components never contain '.',
// which keeps the names unambiguous. Interface names are short and fixed, or
// derived from a hash, and always start with `sky`.
import { shortHash } from '@skyway/dataplane';
import { invalid } from './errors.js';

const COMPONENT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

export function checkComponent(value: string, field: string): string {
  if (!COMPONENT.test(value)) {
    throw invalid(`${field} "${value}" must be 1-63 characters of letters, digits, '-' and '_'`, field);
  }
  return value;
}

export const DEFAULT_INTERNET = 'sky.inet';

export class LabNames {
  constructor(readonly cloud: string) {
    checkComponent(cloud, 'cloud');
  }

  get prefix() {
    return `sky.${this.cloud}.`;
  }
  router(ns: string, region: string) {
    return `${this.prefix}r.${ns}.${region}`;
  }
  vm(ns: string, region: string, name: string) {
    return `${this.prefix}v.${ns}.${region}.${name}`;
  }
  hub(ns: string) {
    return `${this.prefix}h.${ns}`;
  }
  tunnel(ns: string, remote: string) {
    return `${this.prefix}t.${ns}.${remote}`;
  }
  uri(ns: string, region: string, name: string) {
    return `lab://${this.cloud}/${ns}/${region}/${name}`;
  }
}

/** Interface names (<= 15 chars). */
export const IF = {
  /** VPC bridge in the router namespace; holds the VPC's gateway address. */
  bridge: 'skybr0',
  /** The single interface of a VM, and a tunnel namespace's leg on the internet. */
  eth: 'skyeth0',
  /** The internet bridge. */
  inet: 'skyinet0',
  /** A router's or a tunnel's link to the hub. */
  hub: 'skyhub0',
  /** Router side of a VM link. */
  vmPort: (vmNetns: string) => `skyv${shortHash(vmNetns)}`,
  /** Router side of a peering link to another router. */
  peer: (otherRouter: string) => `skyp${shortHash(otherRouter)}`,
  /** Hub side of a link to a router. */
  hubToRouter: (router: string) => `skyr${shortHash(router)}`,
  /** Hub side of a link to a tunnel namespace. */
  hubToTunnel: (tunnel: string) => `skyt${shortHash(tunnel)}`,
  /** Internet bridge port of a tunnel namespace. */
  inetPort: (tunnel: string) => `skyi${shortHash(tunnel)}`,
} as const;

export interface ResourceRef {
  cloud: string;
  namespace: string;
  region: string;
  name: string;
}

/** Parses lab://<cloud>/<namespace>/<region>/<name>. */
export function parseUri(uri: string, field = 'resource'): ResourceRef {
  const m = /^lab:\/\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(uri);
  if (!m) throw invalid(`${field} "${uri}" is not a lab://<cloud>/<namespace>/<region>/<name> URI`, field);
  return { cloud: m[1]!, namespace: m[2]!, region: m[3]!, name: m[4]! };
}
