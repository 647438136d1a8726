import type { Command } from 'commander';
import { example, globals } from '../context.js';
import { emit } from '../output.js';

export function registerLab(program: Command): void {
  const lab = example(
    program.command('lab').description('the lab cloud on this host (Linux namespaces)'),
    'skyway lab check',
  );
  example(
    lab.command('check').description('can this host run the lab cloud? (root, tools, TUN)'),
    'skyway lab check',
  ).action(async (_o, cmd: Command) => {
    const { checkHost } = await import('@skyway/plugin-local'); // loaded here: --help stays fast
    const r = await checkHost();
    emit(globals(cmd).json, r, () =>
      console.log(r.ok ? 'ok: this host can run the lab cloud' : `not ready: ${r.message}`),
    );
    if (!r.ok) process.exitCode = 1;
  });
  example(
    lab
      .command('destroy')
      .description('remove every namespace, process and file the lab made (nothing else)'),
    'skyway lab destroy',
  ).action(async (_o, cmd: Command) => {
    const { destroyAllLabs } = await import('@skyway/plugin-local');
    const { ExecRunner } = await import('@skyway/dataplane');
    await destroyAllLabs(new ExecRunner());
    emit(globals(cmd).json, { destroyed: true }, () => console.log('lab destroyed'));
  });
}
