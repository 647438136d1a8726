import type { PluginDescriptor } from '@skyway/plugin-sdk';
import type { Command } from 'commander';
import { clientOf, enc, example, globals } from '../context.js';
import { emit, printTable } from '../output.js';

/** GET /api/v1/registry/:name */
type RegistryEntry = Omit<PluginDescriptor, 'source'> & { versions: string[]; clouds: string[] };

export function registerPlugin(program: Command): void {
  const plugin = example(
    program
      .command('plugin')
      .description('the cloud plugins serving each cloud, and the registry of those this controller knows'),
    'skyway plugin list',
    'skyway plugin search ipsec',
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
  example(
    plugin
      .command('search [words...]')
      .description('search the registry: every word must match a name, tag, category, summary or description')
      .option('--category <category>', 'only plugins of this category')
      .option('--tag <tag>', 'only plugins with this tag'),
    'skyway plugin search lab',
    'skyway plugin search --category networking',
  ).action(async (words: string[], o: { category?: string; tag?: string }, cmd: Command) => {
    const query = new URLSearchParams({
      ...(words.length ? { q: words.join(' ') } : {}),
      ...(o.category ? { category: o.category } : {}),
      ...(o.tag ? { tag: o.tag } : {}),
    }).toString();
    const r = await clientOf(cmd).get<{ plugins: Array<Record<string, unknown>> }>(
      `/api/v1/registry${query ? `?${query}` : ''}`,
    );
    emit(globals(cmd).json, r, () =>
      printTable(r.plugins, ['name', 'version', 'runtime', 'clouds', 'summary']),
    );
  });
  example(
    plugin
      .command('show <name[@version]>')
      .description("one plugin's descriptor from the registry: the latest version, or the one named"),
    'skyway plugin show local',
    'skyway plugin show local@0.1.0',
  ).action(async (spec: string, _o, cmd: Command) => {
    const [name = '', version] = spec.split('@');
    const query = version ? `?version=${enc(version)}` : '';
    const d = await clientOf(cmd).get<RegistryEntry>(`/api/v1/registry/${enc(name)}${query}`);
    emit(globals(cmd).json, d, () => {
      const lines: Array<[string, unknown]> = [
        ['name', d.name],
        ['version', `${d.version} (versions: ${d.versions.join(', ')})`],
        ['summary', d.summary],
        ['maintainer', d.maintainer],
        ['categories', d.categories.join(', ')],
        ['tags', d.tags.join(', ')],
        ['runtime', d.runtime],
        ['backend', `${d.backend.package} ${d.backend.component}`],
        ['capabilities', d.capabilities.join(', ')],
        ['clouds', d.clouds.join(', ') || '(none)'],
      ];
      for (const [k, v] of lines) if (v) console.log(`${`${k}:`.padEnd(14)}${v}`);
      if (d.description) console.log(`\n${d.description.trim()}`);
    });
  });
}
