// The controller and its plugins must agree on the time (tokens, certificates
// and events carry timestamps): a plugin whose clock is off is refused.
import { failedPrecondition } from '@skyway/core';

export const CLOCK_SKEW_LIMIT_MS = 5 * 60_000;

function human(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = [h ? `${h}h` : '', m ? `${m}m` : '', `${s % 60}s`].filter(Boolean);
  return parts.join(' ');
}

/**
 * Throws FailedPrecondition/CLOCK_SKEW when `remoteUnixMs` differs from the
 * local clock by more than the limit; returns the skew (remote - local) otherwise.
 */
export function checkClock(
  what: string,
  remoteUnixMs: bigint | number,
  localUnixMs = Date.now(),
  limitMs = CLOCK_SKEW_LIMIT_MS,
): number {
  const skew = Number(remoteUnixMs) - localUnixMs;
  if (Math.abs(skew) > limitMs) {
    throw failedPrecondition(
      `${what}'s clock is ${human(skew)} ${skew > 0 ? 'ahead of' : 'behind'} the controller's (more than ${human(limitMs)} apart); fix NTP on that host`,
      'CLOCK_SKEW',
    );
  }
  return skew;
}
