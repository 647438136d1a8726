// CreateResource's description: the JSON input of EC2 RunInstances, without
// networking (Skyway places the instance in its own subnet and security group).
import { findNetworkingKey, invalidArgument, parseResourceDescription } from '@skyway/plugin-sdk';

/** RunInstances fields that place or address the instance in a network; Skyway sets those. */
export const AWS_NETWORKING_FIELDS = [
  'SubnetId',
  'NetworkInterfaces',
  'SecurityGroupIds',
  'SecurityGroups',
  'PrivateIpAddress',
  'PrivateIpAddresses',
  'SecondaryPrivateIpAddressCount',
  'Ipv6Addresses',
  'Ipv6AddressCount',
  'Ipv4Prefixes',
  'Ipv4PrefixCount',
  'Ipv6Prefixes',
  'Ipv6PrefixCount',
  'AssociatePublicIpAddress',
  'EnablePrimaryIpv6',
  'PrivateDnsNameOptions',
  'NetworkPerformanceOptions',
  'ElasticGpuSpecification',
];
/** Fields Skyway sets itself. */
const RESERVED = ['MinCount', 'MaxCount', 'ClientToken', 'DryRun'];
const norm = (k: string) => k.toLowerCase().replace(/[-_]/g, '');
const NET = new Set(AWS_NETWORKING_FIELDS.map(norm));

export interface Description {
  input: Record<string, unknown>;
  region?: string;
}

/** Parses and checks a description; errors name the field (`description.SubnetId`). */
export function parseDescription(bytes: Uint8Array): Description {
  const input = parseResourceDescription(bytes);
  for (const k of Object.keys(input)) {
    if (NET.has(norm(k))) {
      throw invalidArgument(
        `description.${k}: "${k}" is a networking detail; Skyway places the instance in its own subnet and security group, leave it out`,
        `description.${k}`,
        'NETWORKING_NOT_ALLOWED',
      );
    }
    if (RESERVED.includes(k)) {
      throw invalidArgument(
        `description.${k}: Skyway sets ${k} itself (one instance per resource)`,
        `description.${k}`,
      );
    }
  }
  // nested networking keys the SDK's generic list knows (e.g. inside LaunchTemplate overrides)
  const hit = findNetworkingKey(input);
  if (hit)
    throw invalidArgument(
      `description.${hit.path}: a networking detail`,
      `description.${hit.path}`,
      'NETWORKING_NOT_ALLOWED',
    );
  if (typeof input.ImageId !== 'string' && input.LaunchTemplate === undefined) {
    throw invalidArgument('description.ImageId is required (or a LaunchTemplate)', 'description.ImageId');
  }
  for (const [i, spec] of (
    (input.TagSpecifications as { Tags?: { Key?: string }[] }[] | undefined) ?? []
  ).entries()) {
    for (const [j, t] of (spec.Tags ?? []).entries()) {
      if (t.Key?.startsWith('skyway:')) {
        throw invalidArgument(
          `description.TagSpecifications[${i}].Tags[${j}].Key: "skyway:" tags are Skyway's ownership marker`,
          `description.TagSpecifications[${i}].Tags[${j}].Key`,
        );
      }
    }
  }
  const placement = input.Placement as { AvailabilityZone?: unknown } | undefined;
  const az = placement?.AvailabilityZone;
  let region: string | undefined;
  if (az !== undefined) {
    if (typeof az !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d{1,2}[a-z]$/.test(az)) {
      throw invalidArgument(
        `description.Placement.AvailabilityZone "${String(az)}" is not an availability zone (e.g. us-east-1a)`,
        'description.Placement.AvailabilityZone',
      );
    }
    region = az.slice(0, -1);
  }
  return { input, region };
}
