// The embedded defaults: what `skyway serve` and `skyway demo` run when no
// config file is given — a controller on SQLite with two lab clouds.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ControllerConfig, type InProcessFactory, loadConfig, parseConfig } from '@skyway/controller';
import { createLocalPlugin, DESCRIPTOR_FILE, localOptionsFromConfig } from '@skyway/plugin-local';

export const embeddedConfig = {
  listen: '127.0.0.1:7070',
  tunnel_listen: '127.0.0.1:7443',
  service_listen: '127.0.0.1:8443',
  // glide (Paraglider's CLI) sends no token: its own listener, loopback only, acting as an operator of default.
  paraglider: { listen: '127.0.0.1:7071', role: 'operator', namespaces: ['default'] },
  namespaces: {
    default: {
      clouds: {
        // The demo's VMs run web servers (as nobody, inside their namespaces).
        'lab-east': { plugin: 'local', config: { allow_commands: true } },
        'lab-west': { plugin: 'local', config: { allow_commands: true } },
      },
    },
  },
};

/** The config file given, else $SKYWAY_HOME/skyway.yaml, else the embedded defaults. */
export function resolveConfig(home: string, file?: string, listen?: string): ControllerConfig {
  const fallback = join(home, 'skyway.yaml');
  const config = file
    ? loadConfig(file, home)
    : existsSync(fallback)
      ? loadConfig(fallback, home)
      : parseConfig(embeddedConfig, 'embedded defaults', home);
  if (listen) {
    const [host, port] = listen.split(':');
    return { ...config, host: host || config.host, port: Number(port ?? config.port) };
  }
  return config;
}

/** Descriptors of the plugins built into the CLI, for the controller's plugin registry. */
export const builtinDescriptors = [
  DESCRIPTOR_FILE,
  // the AWS SDK loads only when a cloud uses the plugin, so it costs the CLI's start-up nothing
  fileURLToPath(import.meta.resolve('@skyway/plugin-aws/plugin.yaml')),
];

/** Plugins that run inside the controller process (trusted). */
export const inProcessPlugins: Record<string, InProcessFactory> = {
  local: ({ cloud, controller, config }) =>
    createLocalPlugin({ cloud, controller, ...localOptionsFromConfig(config) }),
  aws: async ({ cloud, controller, config }) =>
    (await import('@skyway/plugin-aws')).createAwsPlugin({ cloud, controller, config }),
};
