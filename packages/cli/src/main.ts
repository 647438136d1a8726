#!/usr/bin/env node
// The `skyway` command. Each API area registers its verbs from its own file
// under commands/.
import { Command } from 'commander';
import { registerCommands } from './commands/index.js';
import { runMain } from './output.js';

const program = new Command('skyway')
  .description('Skyway: one control plane for networks that span clouds, edge sites and firewalls')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage and examples)');
registerCommands(program);
await runMain(program);
