// Removes everything Skyway made on this host — and nothing else: namespaces
// whose name starts with the prefix (and every process inside them), daemons
// recorded in pid files under /run/skyway that still live in one of our (or
// an already deleted) namespace, host links with the prefix, and our files.
// Works after a crash: it trusts only the kernel and the pid files.
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseLinks } from './links.js';
import { PREFIX, RUN_DIR } from './names.js';
import { killPids, Netns } from './netns.js';
import { isAlive, readPid } from './pidfile.js';
import type { CommandRunner } from './runner.js';

export interface TeardownOptions {
  /** Only namespaces and host links whose name starts with this (must start with "sky"). */
  prefix?: string;
  /** Directories to remove (each must be under /run/skyway or /tmp/skyway-). Default: all of /run/skyway when prefix is "sky". */
  dirs?: string[];
}

export interface TeardownReport {
  netns: string[];
  pids: number[];
  links: string[];
  dirs: string[];
}

const netInode = (pid: number | 'self'): string | undefined => {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
};

/** Pids whose network namespace is one of the given inodes (`net:[n]`). */
export function pidsInNamespaces(inodes: Set<string>): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const ns = netInode(Number(e));
    if (ns && inodes.has(ns)) out.push(Number(e));
  }
  return out;
}

async function pidFilesUnder(dir: string, depth = 5): Promise<string[]> {
  if (depth < 0) return [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await pidFilesUnder(p, depth - 1)));
    else if (e.name.endsWith('.pid')) out.push(p);
  }
  return out;
}

const checkDir = (d: string) => {
  if (!(d === RUN_DIR || d.startsWith(`${RUN_DIR}/`) || d.startsWith('/tmp/skyway-')) || d.includes('..')) {
    throw new Error(`refusing to remove ${d}: not under ${RUN_DIR} or /tmp/skyway-`);
  }
  return d;
};

export async function teardown(runner: CommandRunner, opts: TeardownOptions = {}): Promise<TeardownReport> {
  const prefix = opts.prefix ?? PREFIX;
  if (!prefix.startsWith(PREFIX)) throw new Error(`teardown prefix must start with "${PREFIX}"`);
  const dirs = (opts.dirs ?? (prefix === PREFIX ? [RUN_DIR] : [])).map(checkDir);
  const netns = new Netns(runner);
  const names = (await netns.list()).filter((n) => n.startsWith(prefix));

  const inodes = new Set<string>();
  for (const n of names) {
    try {
      inodes.add(`net:[${statSync(`/run/netns/${n}`).ino}]`);
    } catch {}
  }
  const pids = new Set(pidsInNamespaces(inodes));
  // Daemons whose namespace is already gone (crash between `ip netns del` and kill):
  // pid files in our directories, if the process is not in the host's namespace.
  const hostNs = netInode('self');
  for (const d of dirs) {
    for (const f of await pidFilesUnder(d)) {
      const pid = await readPid(f);
      if (pid === undefined || !isAlive(pid)) continue;
      const ns = netInode(pid);
      if (ns && ns !== hostNs) pids.add(pid);
    }
  }
  pids.delete(process.pid);
  await killPids([...pids]);
  for (const n of names) await runner.run('ip', ['netns', 'del', n], { allowFail: true });

  const links: string[] = [];
  const r = await runner.run('ip', ['-j', 'link', 'show'], { allowFail: true });
  for (const l of parseLinks(r.stdout)) {
    if (l.ifname.startsWith(prefix)) {
      await runner.run('ip', ['link', 'del', l.ifname], { allowFail: true });
      links.push(l.ifname);
    }
  }
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  return { netns: names, pids: [...pids], links, dirs };
}
