// The process-runner boundary: every command the dataplane runs goes through a
// CommandRunner, so layers above can be unit-tested with FakeRunner. Secrets
// (PSKs) never travel in argv: they go through files or stdin, and errors only
// quote the command line and stderr.
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface RunOptions {
  /** Run inside this network namespace (via `ip netns exec`). */
  netns?: string;
  /** Written to the command's stdin. */
  input?: string;
  /** Resolve instead of reject on a non-zero exit code. */
  allowFail?: boolean;
  /** Extra environment variables. */
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface SpawnOptions {
  netns?: string;
  env?: Record<string, string>;
  /** stdout and stderr of the detached process go here (appended). */
  logFile?: string;
}

export interface CommandRunner {
  run(cmd: string, args: string[], opts?: RunOptions): Promise<RunResult>;
  /** Starts a long-lived detached process (survives the caller) and returns its pid. */
  spawnDetached(cmd: string, args: string[], opts?: SpawnOptions): Promise<number>;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly code: number,
    readonly stderr: string,
  ) {
    super(`command failed (exit ${code}): ${command}: ${stderr.trim().slice(0, 2000)}`);
    this.name = 'CommandError';
  }
}

/** argv with the netns wrapper applied. */
export function wrapNetns(cmd: string, args: string[], netns?: string): [string, string[]] {
  if (!netns) return [cmd, args];
  return ['ip', ['netns', 'exec', netns, cmd, ...args]];
}

export const formatCommand = (cmd: string, args: string[]) =>
  [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');

/** The real runner: execFile, no shell. */
export class ExecRunner implements CommandRunner {
  run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const [c, a] = wrapNetns(cmd, args, opts.netns);
    return new Promise((resolve, reject) => {
      const child = execFile(
        c,
        a,
        {
          env: opts.env ? { ...process.env, ...opts.env } : process.env,
          maxBuffer: 64 * 1024 * 1024,
          timeout: opts.timeoutMs ?? 60_000,
          encoding: 'utf8',
        },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          if (err && !opts.allowFail) {
            const msg = stderr || (typeof err.code === 'string' ? `${err.code}: ${err.message}` : '');
            reject(new CommandError(formatCommand(c, a), code, msg));
            return;
          }
          resolve({ stdout, stderr, code });
        },
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
      else child.stdin?.end();
    });
  }

  async spawnDetached(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<number> {
    const [c, a] = wrapNetns(cmd, args, opts.netns);
    const fd = opts.logFile ? openSync(opts.logFile, 'a') : 'ignore';
    try {
      const child = spawn(c, a, {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: opts.env ? { ...process.env, ...opts.env } : process.env,
      });
      const pid = await new Promise<number>((resolve, reject) => {
        child.once('error', (e) => reject(new CommandError(formatCommand(c, a), -1, e.message)));
        child.once('spawn', () => resolve(child.pid!));
      });
      child.unref();
      return pid;
    } finally {
      if (typeof fd === 'number') closeSync(fd);
    }
  }
}

export interface RecordedCall {
  cmd: string;
  args: string[];
  opts: RunOptions & SpawnOptions;
  detached?: boolean;
}

type Script = (call: RecordedCall) => Partial<RunResult> | undefined;

/**
 * A fake runner: records every call and answers from scripted responses. A
 * response is picked by the first matcher whose pattern is a substring of the
 * formatted command line (`ip netns exec ns nft -j list ...` style), or by a
 * function. Unmatched calls succeed with empty output.
 */
export class FakeRunner implements CommandRunner {
  readonly calls: RecordedCall[] = [];
  private readonly scripts: { match: string | RegExp | Script; result?: Partial<RunResult> }[] = [];
  private nextPid = 4000;

  /** Answers commands whose line contains `match` (or matches the regexp). */
  on(match: string | RegExp, result: Partial<RunResult>): this {
    this.scripts.unshift({ match, result });
    return this;
  }

  /** Answers with a function; return undefined to fall through. */
  onCall(fn: Script): this {
    this.scripts.unshift({ match: fn });
    return this;
  }

  /** Formatted command lines, netns-wrapped, for easy assertions. */
  get lines(): string[] {
    return this.calls.map((c) => formatCommand(...wrapNetns(c.cmd, c.args, c.opts.netns)));
  }

  async run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const call: RecordedCall = { cmd, args, opts };
    this.calls.push(call);
    const line = formatCommand(...wrapNetns(cmd, args, opts.netns));
    let res: Partial<RunResult> | undefined;
    for (const s of this.scripts) {
      if (typeof s.match === 'function') res = s.match(call);
      else if (typeof s.match === 'string' ? line.includes(s.match) : s.match.test(line)) res = s.result;
      if (res) break;
    }
    const out = { stdout: res?.stdout ?? '', stderr: res?.stderr ?? '', code: res?.code ?? 0 };
    if (out.code !== 0 && !opts.allowFail) throw new CommandError(line, out.code, out.stderr);
    return out;
  }

  async spawnDetached(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<number> {
    this.calls.push({ cmd, args, opts, detached: true });
    return this.nextPid++;
  }
}
