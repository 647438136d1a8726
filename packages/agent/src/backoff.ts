// Reconnect delays: exponential with "equal jitter" (half fixed, half random),
// so that a fleet of agents does not reconnect in lockstep.
export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  random?: () => number;
}

export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? 500;
  const max = opts.maxMs ?? 30_000;
  const cap = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.floor(cap / 2 + (opts.random ?? Math.random)() * (cap / 2));
}
