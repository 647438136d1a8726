import type { Command } from 'commander';
import { clientOf, enc, example, globals } from '../context.js';
import { emit, printTable } from '../output.js';

export function registerToken(program: Command): void {
  const token = example(
    program.command('token').description('API tokens (admin only)'),
    'skyway token create ci --role operator --namespace default --ttl 30d',
  );
  example(
    token
      .command('create <subject>')
      .description('issue a token; it is printed once and never stored in clear')
      .option('--role <role>', 'viewer, operator or admin', 'viewer')
      .option('-n, --namespace <ns...>', 'namespaces it may use ("*" = all)', ['default'])
      .option('--ttl <duration>', 'lifetime, e.g. 12h or 30d', '30d'),
    'skyway token create alice --role viewer --namespace default --ttl 12h',
  ).action(async (subject: string, o, cmd: Command) => {
    const r = await clientOf(cmd).post<{ id: string; token: string; expires_at: string }>('/api/v1/tokens', {
      subject,
      role: o.role,
      namespaces: o.namespace,
      ttl: o.ttl,
    });
    emit(globals(cmd).json, r, () => {
      printTable([{ id: r.id, subject, role: o.role, expires: r.expires_at }]);
      console.log(`\ntoken (shown once):\n${r.token}`);
    });
  });
  example(token.command('list').description('list issued tokens'), 'skyway token list').action(
    async (_o, cmd: Command) => {
      const r = await clientOf(cmd).get<{
        tokens: Array<Record<string, unknown> & { scope: Record<string, unknown> }>;
      }>('/api/v1/tokens');
      emit(globals(cmd).json, r, () =>
        printTable(
          r.tokens.map((t) => ({
            id: t.id,
            subject: t.subject,
            kind: t.scope.kind,
            role: t.scope.role,
            namespaces: t.scope.namespaces,
            expires: t.expires_at,
            revoked: t.revoked ? 'yes' : '',
          })),
        ),
      );
    },
  );
  example(
    token.command('revoke <id>').description('revoke a token at once'),
    'skyway token revoke 0b5e...',
  ).action(async (id: string, _o, cmd: Command) => {
    await clientOf(cmd).delete(`/api/v1/tokens/${enc(id)}`);
    emit(globals(cmd).json, { revoked: id }, () => console.log(`revoked ${id}`));
  });
}
