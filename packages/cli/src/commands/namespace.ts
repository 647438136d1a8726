import type { Command } from 'commander';
import { clientOf, example, globals } from '../context.js';
import { emit, printTable } from '../output.js';

export function registerNamespace(program: Command): void {
  const ns = example(
    program.command('namespace').description('namespaces and their clouds'),
    'skyway namespace list',
  );
  example(
    ns.command('list').description('list namespaces with their clouds and plugins'),
    'skyway namespace list --json',
  ).action(async (_o, cmd: Command) => {
    const res = await clientOf(cmd).get<{
      namespaces: Array<{ name: string; clouds: Array<{ name: string; plugin: string }> }>;
    }>('/api/v1/namespaces');
    emit(globals(cmd).json, res, () =>
      printTable(
        res.namespaces.flatMap((n) =>
          n.clouds.map((c) => ({ namespace: n.name, cloud: c.name, plugin: c.plugin })),
        ),
      ),
    );
  });
}
