#!/usr/bin/env node
// The `skyway` command. Each API area registers its verbs from its own file
// under commands/.
import { Command } from 'commander';
import { registerCommands } from './commands/index.js';
import { runMain } from './output.js';

const program = new Command('skyway')
  .description('Skyway: one control plane for networks that span clouds, edge sites and firewalls')
  .version('0.1.0')
  .option('--url <url>', 'controller address (default $SKYWAY_URL, then $SKYWAY_HOME/url)')
  .option('--token <token>', 'bearer token (default $SKYWAY_TOKEN, then $SKYWAY_HOME/admin.token)')
  .option('--json', 'print JSON for scripts instead of tables')
  .showHelpAfterError('(run with --help for usage and examples)');
registerCommands(program);
await runMain(program);
