// Everything the dataplane makes carries the `sky` prefix; these guards make
// it impossible to touch anything else by mistake.
import { createHash } from 'node:crypto';

export const PREFIX = 'sky';
export const RUN_DIR = '/run/skyway';

export function assertSkyName(kind: string, name: string): string {
  if (!name.startsWith(PREFIX) || !/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new Error(
      `${kind} name ${JSON.stringify(name)} must start with "${PREFIX}" and use [A-Za-z0-9._-]`,
    );
  }
  return name;
}

export function assertIfName(name: string): string {
  assertSkyName('interface', name);
  if (name.length > 15)
    throw new Error(`interface name ${JSON.stringify(name)} is longer than 15 characters`);
  return name;
}

/** A short stable hex digest, for interface names derived from long identifiers. */
export const shortHash = (s: string, len = 8) => createHash('sha256').update(s).digest('hex').slice(0, len);

/** The run directory of one namespace or component: /run/skyway/<name>. */
export const runDirOf = (name: string) => `${RUN_DIR}/${assertSkyName('run dir', name)}`;
