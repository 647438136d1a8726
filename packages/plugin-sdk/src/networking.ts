// Paraglider's rule for CreateResource: the tenant describes the resource but
// never its network; the plugin places it in Skyway's network. These helpers
// let every plugin enforce that the same way.
import { invalidArgument } from '@skyway/core';

/** Keys (compared case-insensitively, ignoring - and _) that name networking details. */
export const NETWORKING_KEYS: readonly string[] = [
  'vpc',
  'vpcs',
  'vpcId',
  'vnet',
  'vnetId',
  'virtualNetwork',
  'subnet',
  'subnets',
  'subnetId',
  'subnetIds',
  'subnetwork',
  'subnetworks',
  'network',
  'networks',
  'networkId',
  'networkInterface',
  'networkInterfaces',
  'networkInterfaceIds',
  'networkProfile',
  'networkConfig',
  'networkConfiguration',
  'networkSecurityGroup',
  'securityGroups',
  'securityGroupIds',
  'ipConfigurations',
  'privateIpAddress',
  'privateIpAddresses',
];

const norm = (k: string) => k.toLowerCase().replace(/[-_]/g, '');
const KEYS = new Set(NETWORKING_KEYS.map(norm));

/** The first networking key anywhere in a JSON value, with its dotted path; undefined when there is none. */
export function findNetworkingKey(value: unknown, path = ''): { key: string; path: string } | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findNetworkingKey(value[i], `${path}[${i}]`);
      if (hit) return hit;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const at = path ? `${path}.${k}` : k;
      if (KEYS.has(norm(k))) return { key: k, path: at };
      const hit = findNetworkingKey(v, at);
      if (hit) return hit;
    }
  }
  return undefined;
}

/**
 * Decodes a CreateResource description (UTF-8 JSON object) and refuses
 * networking details with INVALID_ARGUMENT / NETWORKING_NOT_ALLOWED naming the key.
 */
export function parseResourceDescription(bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = bytes.length ? JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) : {};
  } catch (e) {
    throw invalidArgument(`description is not valid UTF-8 JSON: ${(e as Error).message}`, 'description');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgument('description must be a JSON object', 'description');
  }
  const hit = findNetworkingKey(value);
  if (hit) {
    throw invalidArgument(
      `description.${hit.path}: "${hit.key}" is a networking detail; Skyway places the resource in its own network, leave it out`,
      `description.${hit.path}`,
      'NETWORKING_NOT_ALLOWED',
    );
  }
  return value as Record<string, unknown>;
}
