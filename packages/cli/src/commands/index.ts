import type { Command } from 'commander';
import { registerAgent } from './agent.js';
import { registerCa } from './ca.js';
import { registerConnection } from './connection.js';
import { registerDemo } from './demo.js';
import { registerDrift } from './drift.js';
import { registerEvents } from './events.js';
import { registerLab } from './lab.js';
import { registerNamespace } from './namespace.js';
import { registerOverlay } from './overlay.js';
import { registerPlugin } from './plugin.js';
import { registerResource } from './resource.js';
import { registerRule } from './rule.js';
import { registerServe } from './serve.js';
import { registerTag } from './tag.js';
import { registerToken } from './token.js';
import { registerUi } from './ui.js';

/** Each entry adds one API area's verbs to the program. */
const areas: Array<(program: Command) => void> = [
  registerServe,
  registerDemo,
  registerLab,
  registerNamespace,
  registerResource,
  registerRule,
  registerTag,
  registerConnection,
  registerDrift,
  registerToken,
  registerPlugin,
  registerEvents,
  registerAgent,
  registerCa,
  registerUi,
  registerOverlay,
];

export function registerCommands(program: Command): void {
  for (const register of areas) register(program);
}
