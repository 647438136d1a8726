// `skyway ui`: the web console's address with a single-use login code that
// signs the browser in as this CLI's token (same role and namespaces).
import type { Command } from 'commander';
import { clientOf, example, globals } from '../context.js';
import { emit } from '../output.js';

export function registerUi(program: Command): void {
  example(
    program
      .command('ui')
      .description('print the web console URL with a login code (single use, valid 2 minutes)'),
    'skyway ui',
    'skyway --token "$(cat viewer.token)" ui   # signs the browser in as a viewer',
  ).action(async (_o, cmd: Command) => {
    const api = clientOf(cmd);
    const r = await api.post<{ code: string; expires_at: string; path: string }>(
      '/api/v1/ui/login-codes',
      {},
    );
    const url = `${api.url}${r.path}`;
    emit(globals(cmd).json, { url, expires_at: r.expires_at }, () => {
      console.log(url);
      console.log(
        `(open it in a browser before ${r.expires_at}; it works once. Or open ${api.url}/ui/ and paste a token)`,
      );
    });
  });
}
