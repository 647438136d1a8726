import type { Command } from 'commander';
import { clientOf, example, globals } from '../context.js';

export function registerEvents(program: Command): void {
  example(
    program
      .command('events')
      .description('follow the change events (resources, rules, tags, connections, tokens) as they happen')
      .option('--since <id>', 'replay events after this id first', '-1'),
    'skyway events',
    'skyway events --since 0 --json',
  ).action(async (o, cmd: Command) => {
    const res = await clientOf(cmd).raw(
      `/api/v1/events${Number(o.since) >= 0 ? `?since=${Number(o.since)}` : ''}`,
    );
    if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status} ${await res.text()}`);
    const json = globals(cmd).json;
    // On stderr: the events on stdout stay one per line for scripts.
    if (Number(o.since) < 0)
      console.error('following new events (Ctrl-C stops); history too: skyway events --since 0');
    else console.error(`events after #${Number(o.since)}, then following (Ctrl-C stops)`);
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += Buffer.from(chunk).toString('utf8');
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame.split('\n').find((l) => l.startsWith('data: '));
        if (!data) continue;
        const e = JSON.parse(data.slice(6));
        console.log(json ? JSON.stringify(e) : `${e.time}  #${e.id}  ${e.type.padEnd(18)}  ${e.subject}`);
      }
    }
  });
}
