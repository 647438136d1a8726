// The AWS tests need moto_server; without it they fail saying so (SKYWAY_SKIP_AWS=1 skips them instead).
import { spawnSync } from 'node:child_process';
import { MOTO_MISSING } from './moto.js';

/** A skip reason, or undefined to run; throws when moto is missing and skipping was not asked for. */
export function awsSkip(): string | undefined {
  if (process.env.SKYWAY_SKIP_AWS === '1') return 'SKYWAY_SKIP_AWS=1';
  const found = spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' });
  if (found.status !== 0) throw new Error(MOTO_MISSING);
  return undefined;
}
