// Network namespaces: create, delete, list, and find the processes inside.

import { assertSkyName } from './names.js';
import { isAlive, sleep } from './pidfile.js';
import type { CommandRunner } from './runner.js';

export class Netns {
  constructor(private readonly runner: CommandRunner) {}

  async list(): Promise<string[]> {
    const r = await this.runner.run('ip', ['-j', 'netns', 'list'], { allowFail: true });
    return parseNetnsList(r.stdout);
  }

  async exists(name: string): Promise<boolean> {
    return (await this.list()).includes(name);
  }

  /** Creates the namespace (idempotent) with loopback up. */
  async create(name: string): Promise<void> {
    assertSkyName('netns', name);
    if (!(await this.exists(name))) {
      const r = await this.runner.run('ip', ['netns', 'add', name], { allowFail: true });
      if (r.code !== 0 && !/File exists/.test(r.stderr)) {
        await this.runner.run('ip', ['netns', 'add', name]);
      }
    }
    await this.runner.run('ip', ['link', 'set', 'lo', 'up'], { netns: name });
  }

  /** Pids of processes whose network namespace is this one. */
  async pids(name: string): Promise<number[]> {
    assertSkyName('netns', name);
    const r = await this.runner.run('ip', ['netns', 'pids', name], { allowFail: true });
    return r.stdout
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 1);
  }

  /** Kills every process inside, then deletes the namespace (idempotent). */
  async delete(name: string): Promise<void> {
    assertSkyName('netns', name);
    if (!(await this.exists(name))) return;
    await killPids(await this.pids(name));
    await this.runner.run('ip', ['netns', 'del', name], { allowFail: true });
  }

  async sysctl(name: string, key: string, value: string): Promise<void> {
    await this.runner.run('sysctl', ['-qw', `${key}=${value}`], { netns: assertSkyName('netns', name) });
  }

  async enableForwarding(name: string): Promise<void> {
    await this.sysctl(name, 'net.ipv4.ip_forward', '1');
    await this.sysctl(name, 'net.ipv4.conf.all.rp_filter', '0');
    await this.sysctl(name, 'net.ipv4.conf.default.rp_filter', '0');
  }
}

export function parseNetnsList(json: string): string[] {
  if (!json.trim()) return [];
  const arr = JSON.parse(json) as { name: string }[];
  return arr.map((x) => x.name);
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL whatever is left. Only the pids given. */
export async function killPids(pids: number[], graceMs = 1500): Promise<void> {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {}
  }
  const until = Date.now() + graceMs;
  while (pids.some(isAlive) && Date.now() < until) await sleep(50);
  for (const p of pids.filter(isAlive)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {}
  }
}
