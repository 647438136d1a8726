import type { Command } from 'commander';
import { clientOf, enc, example, globals } from '../context.js';
import { emit, printTable } from '../output.js';

export function registerResource(program: Command): void {
  const res = example(
    program.command('resource').description('create, list and delete resources (VMs) in a cloud'),
    'skyway resource create vm-a --cloud lab-east --region r1',
  );
  example(
    res
      .command('create <name>')
      .description('create a resource; it gets the tag <namespace>.<cloud>.<name>')
      .requiredOption('-c, --cloud <cloud>', 'cloud to create it in')
      .option('-n, --namespace <ns>', 'namespace', 'default')
      .option('--description <json>', 'cloud-native JSON description (no networking details)')
      .option('--region <region>', 'region (lab cloud)', 'r1')
      .option('--run <command>', 'command to run inside the VM (lab cloud)'),
    'skyway resource create web-1 --cloud lab-east --run "python3 -m http.server 80"',
    'skyway resource create vm-x --cloud aws --description \'{"InstanceType":"t3.micro"}\'',
  ).action(async (name: string, o, cmd: Command) => {
    const description =
      o.description ?? JSON.stringify({ region: o.region, ...(o.run ? { command: o.run } : {}) });
    const r = await clientOf(cmd).post<Record<string, string>>(
      `/api/v1/namespaces/${enc(o.namespace)}/clouds/${enc(o.cloud)}/resources`,
      { name, description },
    );
    emit(globals(cmd).json, r, () => printTable([r], ['name', 'ip', 'tag', 'uri']));
  });
  example(
    res
      .command('list')
      .description('list resources')
      .option('-n, --namespace <ns>', 'only this namespace')
      .option('-c, --cloud <cloud>', 'only this cloud'),
    'skyway resource list --cloud lab-east',
  ).action(async (o, cmd: Command) => {
    const q = new URLSearchParams();
    if (o.namespace) q.set('namespace', o.namespace);
    if (o.cloud) q.set('cloud', o.cloud);
    const r = await clientOf(cmd).get<{ resources: Array<Record<string, string>> }>(`/api/v1/resources?${q}`);
    emit(globals(cmd).json, r, () => printTable(r.resources, ['namespace', 'cloud', 'name', 'ip', 'uri']));
  });
  example(
    res
      .command('delete <name>')
      .description('delete a resource with its rules and tag')
      .requiredOption('-c, --cloud <cloud>', 'cloud')
      .option('-n, --namespace <ns>', 'namespace', 'default'),
    'skyway resource delete vm-a --cloud lab-east',
  ).action(async (name: string, o, cmd: Command) => {
    await clientOf(cmd).delete(
      `/api/v1/namespaces/${enc(o.namespace)}/clouds/${enc(o.cloud)}/resources/${enc(name)}`,
    );
    emit(globals(cmd).json, { deleted: name }, () =>
      console.log(`deleted ${o.namespace}/${o.cloud}/${name}`),
    );
  });
}
