import type { Command } from 'commander';
import { clientOf, enc, example, globals } from '../context.js';
import { emit, printTable } from '../output.js';

export function registerPlugin(program: Command): void {
  const plugin = example(
    program.command('plugin').description('the cloud plugins serving each cloud'),
    'skyway plugin list',
  );
  example(plugin.command('list').description('list plugins by cloud'), 'skyway plugin list').action(
    async (_o, cmd: Command) => {
      const r = await clientOf(cmd).get<{ plugins: Array<Record<string, unknown>> }>('/api/v1/plugins');
      emit(globals(cmd).json, r, () =>
        printTable(r.plugins, ['namespace', 'cloud', 'plugin', 'version', 'runtime']),
      );
    },
  );
  example(
    plugin
      .command('describe <cloud>')
      .description("a cloud's plugin: version, capabilities, clock and credential check")
      .option('-n, --namespace <ns>', 'namespace', 'default'),
    'skyway plugin describe lab-east',
  ).action(async (cloud: string, o, cmd: Command) => {
    const r = await clientOf(cmd).get<Record<string, any>>(
      `/api/v1/plugins/${enc(o.namespace)}/${enc(cloud)}`,
    );
    emit(globals(cmd).json, r, () =>
      printTable([
        {
          cloud: r.cloud,
          plugin: r.name,
          version: r.version,
          capabilities: r.capabilities,
          clock_offset_ms: r.clock_offset_ms,
          credentials: r.credentials.ok ? 'ok' : r.credentials.message,
        },
      ]),
    );
  });
}
