// `skyway demo`: a controller on embedded defaults with two lab clouds, VMs
// running web servers, a connectivity matrix measured with real TCP
// connections before and after tag rules (one across the clouds), the VPN
// and BGP state, then cleanup. Exit status 0 only if every expectation held.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PollReport, parseConfig, type RunningController, startController } from '@skyway/controller';
import { ExecRunner } from '@skyway/dataplane';
import { checkHost, createLocalPlugin, LabNames, type LocalPlugin } from '@skyway/plugin-local';
import type { Command } from 'commander';
import { createApiClient } from '../client.js';
import { example } from '../context.js';
import { printTable } from '../output.js';

interface Vm {
  name: string;
  cloud: string;
  region: string;
  ip: string;
  netns: string;
}

const clouds = ['lab-east', 'lab-west'];
const vms: Array<Omit<Vm, 'ip' | 'netns'>> = [
  { name: 'web-1', cloud: 'lab-east', region: 'r1' },
  { name: 'app-1', cloud: 'lab-east', region: 'r1' },
  { name: 'db-1', cloud: 'lab-east', region: 'r2' },
  { name: 'web-2', cloud: 'lab-west', region: 'r1' },
  { name: 'app-2', cloud: 'lab-west', region: 'r1' },
];
/** The flows the rules below allow: source -> destination on TCP 80. */
const allowed = new Set(['app-1>web-1', 'app-2>web-1', 'app-1>web-2', 'app-2>web-2', 'app-1>db-1']);

const runner = new ExecRunner();
const step = (n: number, text: string) => console.log(`\n[${n}/8] ${text}`);

async function canConnect(from: Vm, to: Vm): Promise<boolean> {
  const r = await runner.run('curl', ['-s', '-o', '/dev/null', '--max-time', '1', `http://${to.ip}/`], {
    netns: from.netns,
    allowFail: true,
  });
  return r.code === 0;
}

async function matrix(all: Vm[]): Promise<Map<string, boolean>> {
  const result = new Map<string, boolean>();
  await Promise.all(
    all.flatMap((from) =>
      all
        .filter((to) => to !== from)
        .map(async (to) => result.set(`${from.name}>${to.name}`, await canConnect(from, to))),
    ),
  );
  return result;
}

function showMatrix(all: Vm[], m: Map<string, boolean>): void {
  printTable(
    all.map((from) => ({
      'from \\ to': from.name,
      ...Object.fromEntries(
        all.map((to) => [to.name, to === from ? '-' : m.get(`${from.name}>${to.name}`) ? 'PASS' : 'blocked']),
      ),
    })),
  );
}

/** Pairs whose result differs from what the rules say. */
const wrong = (m: Map<string, boolean>, expectAllowed: Set<string>) =>
  [...m.entries()]
    .filter(([pair, ok]) => ok !== expectAllowed.has(pair))
    .map(([pair, ok]) => `${pair} ${ok ? 'passed' : 'blocked'}`);

export function registerDemo(program: Command): void {
  example(
    program
      .command('demo')
      .description(
        'run a controller with two lab clouds, apply tag rules and prove them with real packets (needs root)',
      )
      .option('--keep', 'leave the lab running at the end (remove it with "skyway lab destroy")'),
    'sudo skyway demo',
  ).action(async (o) => {
    const failures: string[] = [];
    const check = (ok: boolean, what: string) => {
      console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
      if (!ok) failures.push(what);
    };
    const host = await checkHost();
    if (!host.ok) throw new Error(`this host cannot run the lab cloud: ${host.message}`);

    const home = mkdtempSync(join(tmpdir(), 'skyway-demo-'));
    const plugins: LocalPlugin[] = [];
    let ctl: RunningController | undefined;
    try {
      step(1, 'starting a controller (SQLite store) with two lab clouds: lab-east and lab-west');
      const config = parseConfig(
        {
          listen: '127.0.0.1:0',
          namespaces: {
            default: { clouds: Object.fromEntries(clouds.map((c) => [c, { plugin: 'local' }])) },
          },
        },
        'demo',
        home,
      );
      ctl = await startController({
        config,
        inProcessPlugins: {
          local: ({ cloud, controller }) => {
            const p = createLocalPlugin({
              cloud,
              controller,
              stateDir: join(home, 'lab', cloud),
              allowCommands: true,
            });
            plugins.push(p);
            return p;
          },
        },
      });
      console.log(`  controller at ${ctl.url}, home ${home}`);
      const api = createApiClient({ url: ctl.url, token: ctl.adminToken });

      step(2, `creating ${vms.length} VMs, each running a small web server on port 80`);
      const server = `exec ${process.execPath} -e "require('http').createServer((q,s)=>s.end('hello from '+require('os').hostname())).listen(80)"`;
      const all: Vm[] = [];
      for (const vm of vms) {
        const r = await api.post<{ ip: string }>(`/api/v1/namespaces/default/clouds/${vm.cloud}/resources`, {
          name: vm.name,
          description: JSON.stringify({ region: vm.region, command: server }),
        });
        all.push({ ...vm, ip: r.ip, netns: new LabNames(vm.cloud).vm('default', vm.region, vm.name) });
        console.log(`  ${vm.cloud.padEnd(8)} ${vm.region}  ${vm.name.padEnd(6)} ${r.ip}`);
      }
      await new Promise((r) => setTimeout(r, 500));

      step(3, 'connectivity matrix before any rule (TCP port 80, real connections)');
      const before = await matrix(all);
      showMatrix(all, before);
      check(wrong(before, new Set()).length === 0, 'default deny: every flow is blocked');

      step(
        4,
        'applying tag rules: web = {web-1, web-2}, app = {app-1, app-2}; web takes HTTP from app; db-1 from app-1',
      );
      await api.put('/api/v1/tags/web', { child_tags: ['default.lab-east.web-1', 'default.lab-west.web-2'] });
      await api.put('/api/v1/tags/app', { child_tags: ['default.lab-east.app-1', 'default.lab-west.app-2'] });
      const http = (name: string, direction: string, tags: string[]) => ({
        name,
        direction,
        protocol: 6,
        dst_port: 80,
        tags,
      });
      const t0 = performance.now();
      await api.post('/api/v1/tags/web/rules', [http('http-from-app', 'INBOUND', ['app'])]);
      await api.post('/api/v1/tags/app/rules', [http('http-to-web', 'OUTBOUND', ['web'])]);
      await api.post(
        '/api/v1/namespaces/default/clouds/lab-east/resources/db-1/rules',
        http('http-from-app-1', 'INBOUND', ['default.lab-east.app-1']),
      );
      await api.post(
        '/api/v1/namespaces/default/clouds/lab-east/resources/app-1/rules',
        http('http-to-db', 'OUTBOUND', ['default.lab-east.db-1']),
      );
      console.log(
        `  rules applied in ${((performance.now() - t0) / 1000).toFixed(1)} s (including the VPN between the clouds)`,
      );

      step(5, 'connectivity matrix with the rules (waiting for BGP to learn the remote prefixes)');
      let after = await matrix(all);
      for (let i = 0; i < 30 && wrong(after, allowed).length > 0; i++) {
        process.stdout.write(i === 0 ? '  waiting' : '.');
        await new Promise((r) => setTimeout(r, 1000));
        after = await matrix(all);
      }
      console.log('');
      showMatrix(all, after);
      const bad = wrong(after, allowed);
      check(
        bad.length === 0,
        `exactly the allowed flows pass, in the allowed direction${bad.length ? ` (wrong: ${bad.join(', ')})` : ''}`,
      );

      step(6, 'VPN and BGP state');
      const { connections } = await api.get<{ connections: any[] }>('/api/v1/connections');
      printTable(
        connections.map((x: any) => ({
          between: `${x.cloud_a} <-> ${x.cloud_b}`,
          status: x.status,
          asns: `${x.detail[x.cloud_a].asn} / ${x.detail[x.cloud_b].asn}`,
          gateways: `${x.detail[x.cloud_a].gateway_ip_addresses} / ${x.detail[x.cloud_b].gateway_ip_addresses}`,
        })),
      );
      check(
        connections.length === 1 && connections[0].status === 'up',
        'one VPN connection between lab-east and lab-west',
      );
      for (const cloud of clouds) {
        const hub = new LabNames(cloud).hub('default');
        const routes = await runner.run('ip', ['-j', 'route', 'show', 'proto', 'bird'], {
          netns: hub,
          allowFail: true,
        });
        const learned =
          routes.code === 0
            ? (JSON.parse(routes.stdout || '[]') as Array<{ dst: string }>).map((r) => r.dst)
            : [];
        const remote = all.filter((v) => v.cloud !== cloud).map((v) => v.ip);
        const covers = remote.every((ip) =>
          learned.some((dst) => dst.startsWith(ip.split('.').slice(0, 2).join('.'))),
        );
        console.log(`  ${cloud}: routes learned through BGP: ${learned.join(', ') || '(none)'}`);
        check(covers, `${cloud} learned the other cloud's VPC prefixes through BGP`);
      }

      step(7, "drift: web-1's firewall is flushed behind Skyway's back; the poller finds and repairs it");
      const web1 = all.find((v) => v.name === 'web-1')!;
      await runner.run('nft', ['flush', 'chain', 'inet', 'skyway', 'input'], { netns: web1.netns });
      const broken = wrong(await matrix(all), allowed);
      console.log(`  after the flush: ${broken.join(', ') || 'nothing changed'}`);
      check(broken.length > 0, 'the flush broke the flows into web-1');
      const report = await api.post<PollReport>('/api/v1/drift/check', { repair: true });
      for (const d of report.drift) {
        console.log(
          `  drift on ${d.cloud}/${d.resource}: missing ${d.missing?.join(', ') || '-'}, changed ${d.changed?.join(', ') || '-'}, extra ${d.extra?.join(', ') || '-'} -> ${d.repaired ? 'repaired' : 'not repaired'}`,
        );
        for (const line of d.deviations ?? []) console.log(`    ${line}`);
      }
      const healed = wrong(await matrix(all), allowed);
      check(
        healed.length === 0 && report.drift.some((d) => d.resource === 'web-1' && d.repaired),
        `the drift check repaired web-1 and exactly the allowed flows pass again${healed.length ? ` (wrong: ${healed.join(', ')})` : ''}`,
      );

      step(8, o.keep ? 'keeping the lab (remove it with "skyway lab destroy")' : 'cleaning up');
    } finally {
      await ctl?.close().catch(() => {});
      if (!o.keep) {
        for (const p of plugins) await p.destroyLab().catch(() => {});
        rmSync(home, { recursive: true, force: true });
      }
    }
    if (failures.length > 0) {
      console.log(`\ndemo FAILED: ${failures.length} expectation(s) did not hold`);
      process.exitCode = 1;
    } else {
      console.log('\ndemo passed: every expectation held');
    }
  });
}
