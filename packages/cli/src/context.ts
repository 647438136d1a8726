// What every command shares: the global flags (--url, --token, --json) and an
// example in its --help.
import type { Command } from 'commander';
import { type ApiClient, createApiClient } from './client.js';

export interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function clientOf(cmd: Command): ApiClient {
  const g = globals(cmd);
  return createApiClient({ url: g.url, token: g.token });
}

/** Adds "Example:" lines to a command's --help. */
export function example(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExample:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

export const enc = encodeURIComponent;
