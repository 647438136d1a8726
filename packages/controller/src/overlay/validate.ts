// Checks of SCC object bodies beyond their JSON schema; errors name the field
// (VALIDATION_FAILED, answered 422 under /scc/v1 as SCC does).
import { checkProposal, checkRfc1123Name, invalidArgument, parseCidr, parseIpRange } from '@skyway/core';
import type { SccKind } from './kinds.js';
import type { Metadata } from './store.js';

export interface SccBody {
  metadata?: { [K in keyof Metadata]?: string | null };
  spec?: Record<string, unknown>;
}

const bad = (field: string, why: string) => invalidArgument(`${field} ${why}`, field, 'VALIDATION_FAILED');

export function checkMetadata(body: SccBody, pathName?: string): Metadata {
  const m = body.metadata ?? {};
  const name = checkRfc1123Name(m.name ?? pathName, 'metadata.name');
  if (pathName !== undefined && name !== pathName) {
    throw bad('metadata.name', `"${name}" does not match the name in the path ("${pathName}")`);
  }
  return {
    name,
    description: m.description ?? '',
    userData1: m.userData1 ?? '',
    userData2: m.userData2 ?? '',
  };
}

function checkIps(v: unknown, field: string): string[] {
  if (!Array.isArray(v)) throw bad(field, 'must be a list of IPv4 addresses');
  return v.map((ip, i) => {
    parseCidr(String(ip), `${field}[${i}]`);
    if (String(ip).includes('/')) throw bad(`${field}[${i}]`, 'must be an address, not a prefix');
    return String(ip);
  });
}

function checkBase64(v: unknown, field: string): void {
  if (v === undefined || v === '') return;
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v.replace(/\s/g, '')) || v.length % 4 === 1) {
    throw bad(field, 'must be base64');
  }
}

/** The spec as stored (secrets included; the service seals them). */
export function checkSpec(kind: SccKind, spec: Record<string, unknown> = {}): Record<string, unknown> {
  switch (kind) {
    case 'overlay':
      return {};
    case 'proposal':
      return { ...checkProposal(spec as never) };
    case 'hub': {
      const publicIps = checkIps(spec.publicIps, 'spec.publicIps');
      if (publicIps.length === 0) throw bad('spec.publicIps', 'needs at least one address');
      checkBase64(spec.kubeConfig, 'spec.kubeConfig');
      return { ...spec, publicIps };
    }
    case 'device': {
      const publicIps = spec.publicIps === undefined ? [] : checkIps(spec.publicIps, 'spec.publicIps');
      checkBase64(spec.kubeConfig, 'spec.kubeConfig');
      const port = spec.proxyHubPort;
      if (
        port !== undefined &&
        port !== 0 &&
        (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535)
      ) {
        throw bad('spec.proxyHubPort', `${JSON.stringify(port)} is not a TCP port (1-65535)`);
      }
      if (spec.proxyHub !== undefined && spec.proxyHub !== '')
        checkRfc1123Name(spec.proxyHub, 'spec.proxyHub');
      return {
        ...spec,
        publicIps,
        forceHubConnectivity: spec.forceHubConnectivity === true,
        useHub4Internet: spec.useHub4Internet === true,
        dedicatedSFC: spec.dedicatedSFC === true,
        proxyHub: (spec.proxyHub as string | undefined) ?? '',
        proxyHubPort: (port as number | undefined) ?? 0,
      };
    }
    case 'iprange':
    case 'provider-iprange': {
      parseIpRange('check', spec as never);
      return { ...spec };
    }
    case 'certificate': {
      const clusterType = spec.clusterType ?? 'Device';
      if (!['Hub', 'Device', 'Overlay'].includes(clusterType as string)) {
        throw bad('spec.clusterType', `${JSON.stringify(clusterType)} is not one of Hub, Device, Overlay`);
      }
      return { isCA: spec.isCA === true, clusterType };
    }
  }
}
