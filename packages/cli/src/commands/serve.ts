import type { Command } from 'commander';
import { skywayHome } from '../client.js';
import { example } from '../context.js';

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
      .option('--tls', 'serve REST and plugin callbacks over TLS even on loopback (always beyond it)')
      .option('--no-tls', 'plain HTTP (beyond loopback only with --insecure)')
      .option('--insecure', 'allow plain HTTP on a listener beyond loopback (config insecure: true)')
      .option('--log-level <level>', 'trace, debug, info, warn or error (a line per request: debug)', 'info')
      .option('--log-stdout', 'log to stdout too (always to $SKYWAY_HOME/logs/skyway.log)'),
    'skyway serve',
    'skyway serve --listen 0.0.0.0:7070          # TLS with the controller CA; the CLI trusts $SKYWAY_HOME/ca/ca.crt',
    'SKYWAY_DATABASE_URL=postgres://skyway@db/skyway skyway serve --config /etc/skyway/skyway.yaml',
  ).action(async (o) => {
    // Whatever Skyway writes (store, keys, logs it opens) is the owner's alone.
    process.umask(0o077);
    // Loaded when the command runs, not at every CLI start (skyway --help stays fast).
    const { redactPaths, secretLogPaths, startController } = await import('@skyway/controller');
    const { serveLogger } = await import('../serve-log.js');
    const { builtinDescriptors, inProcessPlugins, resolveConfig } = await import('../embedded.js');
    const home = skywayHome();
    const config = resolveConfig(home, o.config, o.listen, { insecure: o.insecure, tls: o.tls });
    const { logger, file } = serveLogger({
      home,
      level: o.logLevel,
      stdout: !!o.logStdout,
      redact: [...redactPaths, ...secretLogPaths],
    });
    const controller = await startController({ config, inProcessPlugins, builtinDescriptors, logger });
    logger.info(
      { url: controller.url, home, database: config.database.replace(/\/\/[^@]*@/, '//***@') },
      'skyway controller ready',
    );
    console.error(`skyway: serving ${controller.url} (admin token in ${home}/admin.token, log in ${file})`);
    if (controller.paragliderUrl)
      console.error(`skyway: Paraglider-compatible API (glide, no token) on ${controller.paragliderUrl}`);
    console.error('skyway: the web console: skyway ui');
    const lab = Object.values(config.namespaces).some((n) => n.clouds.some((c) => c.plugin === 'local'));
    const stop = async () => {
      await controller.close();
      logger.flush();
      // The lab's namespaces, VMs and VPNs outlive the controller (the store still knows them).
      if (lab)
        console.error(
          'skyway: stopped; the lab clouds stay up (a restart picks them up). Remove them: skyway lab destroy',
        );
      else console.error('skyway: stopped; the clouds keep what was applied');
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
