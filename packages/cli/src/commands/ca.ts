// `skyway ca`: the controller's certificate authority. `init` creates it for
// operators who want to hold it themselves (the controller otherwise creates
// it on first start); the other verbs go through the control API.
import { createHash, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import type { Command } from 'commander';
import { skywayHome } from '../client.js';
import { clientOf, example, globals } from '../context.js';
import { emit, printTable } from '../output.js';

export function registerCa(program: Command): void {
  const ca = example(
    program.command('ca').description("the controller's certificate authority and the credentials it issues"),
    'skyway ca init',
    'skyway ca control-credentials ops --role operator --ttl 7d',
  );

  example(
    ca
      .command('init')
      .description(
        'create the CA under $SKYWAY_HOME/ca (key sealed, mode 0600) if there is none; print its fingerprint',
      )
      .option('--home <dir>', 'Skyway home (default $SKYWAY_HOME or ~/.skyway)'),
    'SKYWAY_HOME=/etc/skyway skyway ca init',
  ).action(async (o, cmd: Command) => {
    const home = o.home ?? skywayHome();
    // Loaded here: --help stays fast. The key is sealed with the controller's master key, as the controller keeps it.
    const { openFileCa, SecretBox } = await import('@skyway/controller');
    const { ca: authority, dir } = await openFileCa(home, undefined, SecretBox.forHome(home));
    const x = new X509Certificate(authority.certPem);
    const out = {
      certificate: join(dir, 'ca.crt'),
      key: join(dir, 'ca.key'),
      subject: x.subject.replace(/\n/g, ', '),
      notAfter: new Date(x.validTo).toISOString(),
      sha256: createHash('sha256')
        .update(x.raw)
        .digest('hex')
        .replace(/(..)(?!$)/g, '$1:'),
    };
    emit(globals(cmd).json, out, () => {
      for (const [k, v] of Object.entries(out)) console.log(`${k.padEnd(12)} ${v}`);
    });
  });

  example(
    ca.command('show').description('the CA certificate and the tunnel addresses'),
    'skyway ca show',
  ).action(async (_o, cmd: Command) => {
    const r = await clientOf(cmd).get<Record<string, string>>('/api/v1/ca');
    emit(globals(cmd).json, r, () => {
      printTable([{ subject: r.subject, expires: r.notAfter, tunnel: r.tunnel, service: r.service }]);
      console.log(`\n${r.certificate}`);
    });
  });

  example(
    ca
      .command('control-credentials <name>')
      .description(
        'control credentials: an API token (and with --cert a client certificate) for a person or tool',
      )
      .option('--role <role>', 'viewer, operator or admin', 'viewer')
      .option('-n, --namespace <ns...>', 'namespaces it may use (default all)')
      .option('--ttl <duration>', 'lifetime', '30d')
      .option('--cert', 'also issue a control client certificate'),
    'skyway ca control-credentials ci --role operator --ttl 7d',
  ).action(async (name: string, o, cmd: Command) => {
    const r = await clientOf(cmd).post<Record<string, unknown>>('/api/v1/ca/control-credentials', {
      name,
      role: o.role,
      namespaces: o.namespace,
      ttl: o.ttl,
      certificate: o.cert === true,
    });
    emit(globals(cmd).json, r, () => {
      printTable([{ id: r.id, name, role: r.role, namespaces: r.namespaces, expires: r.expiresAt }]);
      console.log(`\ntoken (shown once):\n${r.token}`);
      const c = r.certificate as Record<string, string> | undefined;
      if (c) console.log(`\n${c.certificate}${c.key}`);
    });
  });

  example(
    ca.command('issued').description('credentials the CA and tunnel issued (never the secrets)'),
    'skyway ca issued',
  ).action(async (_o, cmd: Command) => {
    const r = await clientOf(cmd).get<{ issued: Array<Record<string, unknown>> }>('/api/v1/ca/issued');
    emit(globals(cmd).json, r, () =>
      printTable(
        r.issued.map((e) => ({
          id: e.id,
          kind: e.kind,
          purpose: e.purpose,
          subject: e.subject,
          expires: e.expiresAt,
          revoked: e.revokedAt ?? '',
        })),
      ),
    );
  });

  example(
    ca
      .command('revoke <id>')
      .description(
        'revoke a certificate (serial) or token (id) at once, ending the watches and WebSockets it has open',
      ),
    'skyway ca revoke 3F9A...',
  ).action(async (id: string, _o, cmd: Command) => {
    const r = await clientOf(cmd).post('/api/v1/ca/revocations', { id });
    emit(globals(cmd).json, r, () => console.log(`revoked ${id}`));
  });
}
