// A tenant describes a resource without networking details; Skyway places it
// in its own network. These are the keys (in any cloud's dialect) that would
// place it somewhere else.
const NETWORKING_KEYS = new Set(
  [
    'vpc',
    'vpcid',
    'vnet',
    'virtualnetwork',
    'subnet',
    'subnetid',
    'subnets',
    'subnetwork',
    'network',
    'networks',
    'networkinterfaces',
    'networkinterface',
    'networkprofile',
    'networkinterfaceids',
    'securitygroups',
    'securitygroupids',
    'privateipaddress',
    'ipaddress',
    'ipconfigurations',
  ].map((k) => k.toLowerCase()),
);

const normalize = (key: string) => key.toLowerCase().replace(/[_-]/g, '');

/** The dotted path of the first networking key in `value`, or undefined. */
export function findNetworkingKey(value: unknown, path = ''): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, child] of Object.entries(value)) {
    const here = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    if (!Array.isArray(value) && NETWORKING_KEYS.has(normalize(key))) return here;
    const found = findNetworkingKey(child, here);
    if (found) return found;
  }
  return undefined;
}
