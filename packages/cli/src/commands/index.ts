import type { Command } from 'commander';

/** Each entry adds one API area's verbs to the program. */
const areas: Array<(program: Command) => void> = [];

export function registerCommands(program: Command): void {
  for (const register of areas) register(program);
}
