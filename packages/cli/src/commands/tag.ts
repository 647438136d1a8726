import type { Command } from 'commander';
import { clientOf, enc, example, globals } from '../context.js';
import { emit, printTable } from '../output.js';

interface TagView {
  tag_name: string;
  uri?: string;
  ip?: string;
  child_tags: string[];
}

export function registerTag(program: Command): void {
  const tag = example(
    program.command('tag').description('group resources and addresses under names'),
    'skyway tag set web default.lab-east.web-1',
  );
  example(tag.command('list').description('list tags'), 'skyway tag list').action(
    async (_o, cmd: Command) => {
      const r = await clientOf(cmd).get<{ tags: TagView[] }>('/api/v1/tags');
      emit(globals(cmd).json, r, () =>
        printTable(r.tags.map((t) => ({ tag: t.tag_name, ip: t.ip, members: t.child_tags }))),
      );
    },
  );
  example(tag.command('get <tag>').description('show a tag'), 'skyway tag get web').action(
    async (name: string, _o, cmd: Command) => {
      const t = await clientOf(cmd).get<TagView>(`/api/v1/tags/${enc(name)}`);
      emit(globals(cmd).json, t, () =>
        printTable([{ tag: t.tag_name, uri: t.uri, ip: t.ip, members: t.child_tags }]),
      );
    },
  );
  example(
    tag
      .command('set <tag> <members...>')
      .description("set a tag's members (tags or CIDRs); rules that use it are re-applied")
      .option('--add', 'add to the members instead of replacing them'),
    'skyway tag set web default.lab-east.web-1 default.lab-west.web-2',
    'skyway tag set office 192.0.2.0/24 --add',
  ).action(async (name: string, members: string[], o, cmd: Command) => {
    const c = clientOf(cmd);
    const body = { child_tags: members };
    const t = o.add
      ? await c.post<TagView>(`/api/v1/tags/${enc(name)}/applyMembers`, body)
      : await c.put<TagView>(`/api/v1/tags/${enc(name)}`, body);
    emit(globals(cmd).json, t, () => printTable([{ tag: t.tag_name, members: t.child_tags }]));
  });
  example(
    tag.command('delete <tag> [member]').description('delete a tag, or only one member of it'),
    'skyway tag delete web',
    'skyway tag delete web default.lab-east.web-1',
  ).action(async (name: string, member: string | undefined, _o, cmd: Command) => {
    const c = clientOf(cmd);
    if (member) await c.delete(`/api/v1/tags/${enc(name)}/members/${enc(member)}`);
    else await c.delete(`/api/v1/tags/${enc(name)}`);
    emit(globals(cmd).json, { deleted: member ?? name }, () =>
      console.log(`deleted ${member ? `${member} from ` : ''}${name}`),
    );
  });
  example(
    tag.command('resolve <tag>').description('the addresses a tag stands for'),
    'skyway tag resolve web',
  ).action(async (name: string, _o, cmd: Command) => {
    const r = await clientOf(cmd).post<{ ips: string[]; leaves: TagView[] }>(
      `/api/v1/tags/${enc(name)}/resolveMembers`,
    );
    emit(globals(cmd).json, r, () => printTable(r.ips.map((ip) => ({ address: ip }))));
  });
}
