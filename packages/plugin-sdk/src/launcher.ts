// Starts an out-of-process plugin from its descriptor: spawn `command`, wait
// for `SKYWAY_PLUGIN_READY <url>`, connect with the plugin's own API key, and
// refuse it if its clock is off. One child per plugin version, side by side.
// The child's stdin is a pipe kept open for its life: new keys travel on it
// (one JSON line each, acknowledged on stdout), and its end tells the child
// that the controller is gone, even after a SIGKILL.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, isAbsolute } from 'node:path';
import { createInterface } from 'node:readline';
import { failedPrecondition, invalidArgument, isSkywayError, unavailable } from '@skyway/core';
import type { DescribeResponse } from '@skyway/proto/plugin';
import { checkClock } from './clock.js';
import type { PluginClient } from './contract.js';
import type { PluginDescriptor } from './descriptor.js';
import { fromConnectError } from './errors.js';
import {
  CONTROL_STDIN,
  ENV_API_KEY,
  ENV_CONTROL,
  ENV_CONTROLLER_CA,
  ENV_CONTROLLER_URL,
  ENV_LISTEN,
  KEY_ACK_PREFIX,
  READY_PREFIX,
} from './plugin-main.js';
import { connect } from './transport.js';

export interface LaunchOptions {
  descriptor: PluginDescriptor;
  /** Where the plugin calls back (the controller's gRPC URL). */
  controllerUrl: string;
  /** This plugin's own revocable key: bearer for its callbacks, and required from its callers. */
  apiKey: string;
  /** The CA (PEM) of an https controllerUrl, for the plugin to trust. */
  controllerCa?: string;
  /** Extra environment for the child. The controller's own environment is NOT passed on (only PATH, HOME, locale, TZ, TMPDIR). */
  env?: Record<string, string>;
  /** Working directory; default the descriptor file's directory, else the current one. */
  cwd?: string;
  /** How long to wait for the ready line (default 30 s). */
  readyTimeoutMs?: number;
  /** Listen address for the child (default 127.0.0.1:0). */
  listen?: string;
  /** Every stderr line of the child (for the controller's log). Never gets the API key in clear. */
  onStderr?: (line: string) => void;
}

export interface LaunchedPlugin {
  client: PluginClient;
  descriptor: PluginDescriptor;
  pid: number;
  url: string;
  /** What the plugin said about itself when it started. */
  describe: DescribeResponse;
  /** Resolves when the child has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Hands the child a new API key over its stdin; resolves once it uses it (then the old one may be revoked). */
  rotateKey(key: string): Promise<void>;
  /** Closes the connection, sends SIGTERM to the child's process group, SIGKILL after 5 s, and waits. */
  stop(): Promise<void>;
}

const PASSED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SYSTEMROOT'];
const TAIL_BYTES = 4096;

/** Blanks out every key the child was given. */
const blank = (text: string, secrets: string[]) =>
  secrets.reduce((t, s) => (s ? t.split(s).join('***') : t), text);

/** Keeps the last few KB of a stream, as text, with the secrets blanked out. */
class Tail {
  #text = '';
  readonly #secrets: string[];
  constructor(secrets: string[]) {
    this.#secrets = secrets;
  }
  push(line: string): void {
    this.#text = `${this.#text}${line}\n`.slice(-TAIL_BYTES);
  }
  toString(): string {
    const clean = blank(this.#text.trimEnd(), this.#secrets);
    return clean ? `; stderr: ${clean}` : '; stderr was empty';
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {}
  }
}

/** Spawns a `process` plugin, waits until it is ready and checks it before handing it out. */
export async function launchPlugin(opts: LaunchOptions): Promise<LaunchedPlugin> {
  const d = opts.descriptor;
  const what = `plugin ${d.name} ${d.version}`;
  if (d.runtime !== 'process' || !d.command?.length) {
    throw invalidArgument(`${what} has runtime ${d.runtime}; only process plugins are launched`, 'runtime');
  }
  if (!opts.apiKey) throw invalidArgument(`${what}: an API key is required`, 'apiKey');
  const cwd =
    opts.cwd ?? (isAbsolute(d.source) || d.source.includes('/') ? dirname(d.source) : process.cwd());
  const env: Record<string, string> = {};
  for (const k of PASSED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  Object.assign(env, opts.env, {
    [ENV_LISTEN]: opts.listen ?? '127.0.0.1:0',
    [ENV_CONTROLLER_URL]: opts.controllerUrl,
    [ENV_API_KEY]: opts.apiKey,
    [ENV_CONTROL]: CONTROL_STDIN,
    ...(opts.controllerCa ? { [ENV_CONTROLLER_CA]: opts.controllerCa } : {}),
  });
  const [cmd, ...args] = d.command;
  const child = spawn(cmd === 'node' ? process.execPath : cmd!, args, {
    cwd,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // its own process group, so stop() also ends anything it started
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  // If the controller exits, its plugins go with it.
  const onExit = () => killGroup(child, 'SIGKILL');
  process.once('exit', onExit);
  void exited.then(() => process.off('exit', onExit));

  // A child that is gone makes writes fail with EPIPE; `exited` tells the rest.
  child.stdin!.on('error', () => {});
  let key = opts.apiKey;
  const secrets = [opts.apiKey];
  const tail = new Tail(secrets);
  createInterface({ input: child.stderr! }).on('line', (line) => {
    tail.push(line);
    opts.onStderr?.(blank(line, secrets));
  });
  // Acknowledged key rotations, by sequence number.
  const acks = new Map<number, () => void>();
  const stdout = createInterface({ input: child.stdout! });
  stdout.on('line', (line) => {
    const m = new RegExp(`^${KEY_ACK_PREFIX} (\\d+)$`).exec(line.trim());
    if (m) acks.get(Number(m[1]))?.();
  });

  let stopping: Promise<void> | undefined;
  let closeConn = () => {};
  const stop = () => {
    stopping ??= (async () => {
      closeConn();
      child.stdin!.end();
      if (child.exitCode === null && child.signalCode === null) {
        killGroup(child, 'SIGTERM');
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    })();
    return stopping;
  };

  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(unavailable(`${what} did not print ${READY_PREFIX} within ${timeoutMs} ms${tail}`)),
        timeoutMs,
      );
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(unavailable(`${what} could not be started (${d.command!.join(' ')}): ${e.message}`));
      });
      stdout.on('line', (line) => {
        const m = new RegExp(`^${READY_PREFIX} (\\S+)$`).exec(line.trim());
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        // stderr may still be draining; give it a tick so the tail is complete.
        setImmediate(() =>
          reject(unavailable(`${what} exited (${signal ?? `code ${code}`}) before it was ready${tail}`)),
        );
      });
    });
  } catch (e) {
    await stop();
    throw e;
  }

  const conn = connect({ url, token: () => key, timeoutMs: 60_000 });
  closeConn = conn.close;
  let describe: DescribeResponse;
  try {
    describe = await conn.client.describe({}, { timeoutMs: 15_000 });
  } catch (e) {
    await stop();
    const err = fromConnectError(e);
    throw unavailable(`${what} is up at ${url} but Describe failed: ${err.message}${tail}`);
  }
  try {
    checkClock(what, describe.nowUnixMs);
  } catch (e) {
    await stop();
    throw isSkywayError(e) ? e : failedPrecondition(String(e), 'CLOCK_SKEW');
  }
  let seq = 0;
  const rotateKey = async (next: string) => {
    if (!next) throw invalidArgument(`${what}: an API key is required`, 'apiKey');
    if (stopping || child.exitCode !== null || child.signalCode !== null)
      throw unavailable(`${what} has stopped; its key cannot be renewed`);
    const n = ++seq;
    secrets.push(next);
    if (secrets.length > 4) secrets.shift();
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(unavailable(`${what} did not take its new key within 10 s`)),
          10_000,
        );
        acks.set(n, () => {
          clearTimeout(timer);
          resolve();
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(unavailable(`${what} exited before it took its new key`));
        });
        child.stdin!.write(`${JSON.stringify({ key: next, seq: n })}\n`);
      });
    } finally {
      acks.delete(n);
    }
    key = next;
  };
  return { client: conn.client, descriptor: d, pid: child.pid!, url, describe, exited, rotateKey, stop };
}
