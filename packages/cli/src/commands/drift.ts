import type { Drift, PollReport } from '@skyway/controller';
import type { Command } from 'commander';
import { clientOf, example, globals } from '../context.js';
import { emit, printTable } from '../output.js';

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

const describeDrift = (d: Drift) => {
  if (d.kind === 'resource_missing') return 'gone from the cloud (not re-created)';
  if (d.kind === 'resource_unmanaged') return 'in the cloud, not in Skyway';
  const parts = [
    d.unfiltered ? 'NOT FILTERED (default deny gone)' : '',
    d.missing?.length ? `missing ${d.missing.join(',')}` : '',
    d.changed?.length ? `changed ${d.changed.join(',')}` : '',
    d.extra?.length ? `extra ${d.extra.join(',')}` : '',
    ...(d.deviations ?? []),
  ];
  return `rules: ${parts.filter(Boolean).join('; ')}`;
};

function print(r: PollReport): void {
  console.log(
    `checked ${plural(r.resources, 'resource')} in ${plural(r.clouds, 'cloud')} at ${r.started_at} (${r.duration_ms} ms)${r.repair ? '' : ', report only'}`,
  );
  if (r.drift.length === 0) console.log('no drift: every cloud matches the store');
  else
    printTable(
      r.drift.map((d) => ({
        resource: `${d.namespace}/${d.cloud}/${d.resource}`,
        drift: describeDrift(d),
        repaired: d.repaired ? 'yes' : 'no',
      })),
    );
  for (const e of r.errors)
    console.log(
      `could not check ${e.namespace}/${e.cloud}${e.resource ? `/${e.resource}` : ''}: ${e.message}`,
    );
}

export function registerDrift(program: Command): void {
  const drift = example(
    program
      .command('drift')
      .description('differences between what the clouds enforce and what Skyway wants (the poller)'),
    'skyway drift check --report-only',
  );
  example(drift.command('show').description('the last drift check'), 'skyway drift show --json').action(
    async (_o, cmd: Command) => {
      const r = await clientOf(cmd).get<{ last: PollReport | null }>('/api/v1/drift');
      emit(globals(cmd).json, r, () => (r.last ? print(r.last) : console.log('no drift check has run yet')));
    },
  );
  example(
    drift
      .command('check')
      .description('check every cloud now and repair what differs')
      .option(
        '--report-only',
        'find drift but change nothing; exit status 2 when there is drift (for scripts)',
      ),
    'skyway drift check',
    'skyway drift check --report-only || echo "the clouds differ from Skyway"',
  ).action(async (o: { reportOnly?: boolean }, cmd: Command) => {
    const r = await clientOf(cmd).post<PollReport>('/api/v1/drift/check', { repair: !o.reportOnly });
    emit(globals(cmd).json, r, () => print(r));
    if (o.reportOnly && r.drift.length > 0) process.exitCode = 2;
  });
}
