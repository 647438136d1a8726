import { pingRule, type RuleInput, sshRule } from '@skyway/core';
import { type Command, InvalidArgumentError } from 'commander';
import { clientOf, enc, example, globals } from '../context.js';
import { emit, printTable } from '../output.js';

const protocols: Record<string, number> = { any: -1, icmp: 1, tcp: 6, udp: 17, sctp: 132 };
const parseProtocol = (v: string) => {
  const n = protocols[v.toLowerCase()] ?? Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('use tcp, udp, icmp, sctp or an IANA number');
  return n;
};
const parsePort = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('a port is a number, or -1 for any');
  return n;
};

const resourcePath = (o: { namespace: string; cloud: string }, resource: string) =>
  `/api/v1/namespaces/${enc(o.namespace)}/clouds/${enc(o.cloud)}/resources/${enc(resource)}`;

const printRules = (rules: Array<Record<string, unknown>>) =>
  printTable(rules, ['name', 'direction', 'protocol', 'src_port', 'dst_port', 'tags', 'targets']);

export function registerRule(program: Command): void {
  const rule = example(
    program.command('rule').description('add, list and delete permit-list rules on a resource'),
    'skyway rule add vm-a --cloud lab-east --ping web',
  );
  example(
    rule
      .command('add <resource>')
      .description('allow traffic between a resource and the members of tags (deny is the default)')
      .requiredOption('-c, --cloud <cloud>', 'cloud of the resource')
      .option('-n, --namespace <ns>', 'namespace', 'default')
      .option('--ping <tag>', 'shortcut: allow ICMP in from the tag')
      .option('--ssh <tag>', 'shortcut: allow TCP 22 in from the tag')
      .option('--name <name>', 'rule name')
      .option('--direction <dir>', 'INBOUND or OUTBOUND', 'INBOUND')
      .option('--protocol <proto>', 'tcp, udp, icmp, sctp, any or an IANA number', parseProtocol, 6)
      .option('--port <port>', 'destination port (-1 = any)', parsePort, -1)
      .option('--src-port <port>', 'source port (-1 = any)', parsePort, -1)
      .option('-t, --tag <tag...>', 'tags or CIDRs of the remote endpoints'),
    'skyway rule add vm-a --cloud lab-east --ssh bastion',
    'skyway rule add db --cloud lab-west --name pg-in --protocol tcp --port 5432 --tag app',
  ).action(async (resource: string, o, cmd: Command) => {
    const rules: RuleInput[] = [];
    if (o.ping) rules.push(pingRule(o.ping));
    if (o.ssh) rules.push(sshRule(o.ssh));
    if (o.tag) {
      if (!o.name) throw new InvalidArgumentError('--name is required with --tag');
      rules.push({
        name: o.name,
        direction: o.direction,
        protocol: o.protocol,
        dst_port: o.port,
        src_port: o.srcPort,
        tags: o.tag,
      });
    }
    if (rules.length === 0) throw new InvalidArgumentError('give --ping TAG, --ssh TAG or --name with --tag');
    const r = await clientOf(cmd).post<{ rules: Array<Record<string, unknown>> }>(
      `${resourcePath(o, resource)}/applyRules`,
      rules,
    );
    emit(globals(cmd).json, r, () => printRules(r.rules));
  });
  example(
    rule
      .command('get <resource>')
      .alias('list')
      .description("show a resource's rules with their resolved targets")
      .requiredOption('-c, --cloud <cloud>', 'cloud of the resource')
      .option('-n, --namespace <ns>', 'namespace', 'default'),
    'skyway rule get vm-a --cloud lab-east',
  ).action(async (resource: string, o, cmd: Command) => {
    const r = await clientOf(cmd).get<{ rules: Array<Record<string, unknown>> }>(
      `${resourcePath(o, resource)}/rules`,
    );
    emit(globals(cmd).json, r, () => printRules(r.rules));
  });
  example(
    rule
      .command('delete <resource> <names...>')
      .description('delete rules by name')
      .requiredOption('-c, --cloud <cloud>', 'cloud of the resource')
      .option('-n, --namespace <ns>', 'namespace', 'default'),
    'skyway rule delete vm-a ping-web --cloud lab-east',
  ).action(async (resource: string, names: string[], o, cmd: Command) => {
    await clientOf(cmd).post(`${resourcePath(o, resource)}/deleteRules`, names);
    emit(globals(cmd).json, { deleted: names }, () => console.log(`deleted ${names.join(', ')}`));
  });
}
