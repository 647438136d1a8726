import type { Command } from 'commander';
import { clientOf, enc, example, globals } from '../context.js';
import { emit, printTable } from '../output.js';

interface Side {
  asn: number;
  gateway_ip_addresses: string[];
  bgp_peering_ip_addresses: string[];
}

export function registerConnection(program: Command): void {
  const conn = example(
    program.command('connection').description('VPN connections between clouds'),
    'skyway connection list',
  );
  example(
    conn.command('list').description('list cloud-to-cloud connections'),
    'skyway connection list --json',
  ).action(async (_o, cmd: Command) => {
    const r = await clientOf(cmd).get<{
      connections: Array<{
        namespace: string;
        cloud_a: string;
        cloud_b: string;
        status: string;
        detail: Record<string, Side>;
      }>;
    }>('/api/v1/connections');
    emit(globals(cmd).json, r, () =>
      printTable(
        r.connections.map((c) => {
          const a = c.detail[c.cloud_a];
          const b = c.detail[c.cloud_b];
          return {
            namespace: c.namespace,
            between: `${c.cloud_a} <-> ${c.cloud_b}`,
            status: c.status,
            asns: `${a?.asn} / ${b?.asn}`,
            gateways: `${a?.gateway_ip_addresses.join(',')} / ${b?.gateway_ip_addresses.join(',')}`,
            bgp: `${a?.bgp_peering_ip_addresses.join(',')} / ${b?.bgp_peering_ip_addresses.join(',')}`,
          };
        }),
      ),
    );
  });
  example(
    conn
      .command('delete <cloudA> <cloudB>')
      .description('tear down the VPN between two clouds')
      .option('-n, --namespace <ns>', 'namespace', 'default'),
    'skyway connection delete lab-east lab-west',
  ).action(async (a: string, b: string, o, cmd: Command) => {
    await clientOf(cmd).delete(`/api/v1/connections/${enc(o.namespace)}/${enc(a)}/${enc(b)}`);
    emit(globals(cmd).json, { deleted: [a, b] }, () => console.log(`deleted the connection ${a} <-> ${b}`));
  });
}
