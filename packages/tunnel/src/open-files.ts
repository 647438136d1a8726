// The open-file limit: every caller, agent and service connection is a file
// descriptor, and the usual soft limit (1,024) is far below the hard one.
// Node cannot call setrlimit, so util-linux's prlimit raises this process's
// soft limit to the hard one, once; where that fails the limit stays as it is.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface OpenFileLimit {
  soft: number;
  hard: number;
}

function read(): OpenFileLimit | undefined {
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!m) return undefined;
    const n = (s: string) => (s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s));
    return { soft: n(m[1]!), hard: n(m[2]!) };
  } catch {
    return undefined;
  }
}

let raised: OpenFileLimit | undefined;

/** Raises the soft limit to the hard one (at most 1,048,576) where it can; returns the limit now in force. */
export function raiseOpenFileLimit(): OpenFileLimit | undefined {
  if (raised) return raised;
  const now = read();
  if (!now) return undefined;
  const want = Math.min(now.hard, 1 << 20);
  if (now.soft < want) {
    try {
      execFileSync(
        'prlimit',
        [
          `--pid=${process.pid}`,
          `--nofile=${want}:${now.hard === Number.POSITIVE_INFINITY ? 'unlimited' : now.hard}`,
        ],
        {
          stdio: 'ignore',
          timeout: 5_000,
        },
      );
    } catch {
      // No prlimit, or not allowed: keep the limit there is.
    }
  }
  raised = read() ?? now;
  return raised;
}
