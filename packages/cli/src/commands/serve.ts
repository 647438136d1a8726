import { redactPaths, startController } from '@skyway/controller';
import type { Command } from 'commander';
import pino from 'pino';
import { skywayHome } from '../client.js';
import { example } from '../context.js';
import { builtinDescriptors, inProcessPlugins, resolveConfig } from '../embedded.js';

export function registerServe(program: Command): void {
  example(
    program
      .command('serve')
      .description(
        'run the controller (REST API, plugin callbacks, plugins); embedded defaults without --config',
      )
      .option(
        '--config <file>',
        'controller config (YAML); default $SKYWAY_HOME/skyway.yaml, else two lab clouds',
      )
      .option('--listen <host:port>', 'REST API address (overrides the config)')
      .option('--log-level <level>', 'trace, debug, info, warn or error', 'info'),
    'skyway serve',
    'SKYWAY_DATABASE_URL=postgres://skyway@db/skyway skyway serve --config /etc/skyway/skyway.yaml',
  ).action(async (o) => {
    const home = skywayHome();
    const config = resolveConfig(home, o.config, o.listen);
    const logger = pino({
      level: o.logLevel,
      redact: { paths: redactPaths, censor: '[redacted]' },
    });
    const controller = await startController({ config, inProcessPlugins, builtinDescriptors, logger });
    logger.info(
      { url: controller.url, home, database: config.database.replace(/\/\/[^@]*@/, '//***@') },
      'skyway controller ready',
    );
    console.error(`skyway: serving ${controller.url} (admin token in ${home}/admin.token)`);
    if (controller.paragliderUrl)
      console.error(`skyway: Paraglider-compatible API (glide, no token) on ${controller.paragliderUrl}`);
    const stop = async () => {
      await controller.close();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
