// One conformance suite every CloudPlugin runs, whatever it drives (the fake,
// the lab cloud, a real cloud), in-process or over gRPC. It registers node:test
// cases; call runConformance() at the top level of a *.test.ts file.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { cidrContains, parseCidr, parseIp } from '@skyway/core';
import { Direction, type PermitListRule, type PermitListRuleSchema } from '@skyway/proto/plugin';
import { CLOCK_SKEW_LIMIT_MS } from './clock.js';
import type { PluginClient } from './contract.js';

export interface ConformanceTarget {
  client: PluginClient;
  /** The deployment every case works in. */
  deployment: { id: string; namespace: string };
  /** A valid description (JSON object, no networking details) for a small resource of this name. */
  resourceDescription(name: string): Uint8Array;
  /** Called once at the end, after the suite has deleted what it created. */
  cleanup(): Promise<void>;
}

export interface ConformanceOptions {
  /** Shown in the test names, e.g. "fake (gRPC)". */
  name: string;
  setup: () => Promise<ConformanceTarget>;
  /** Per case, default 120 s (slow clouds); setup gets twice as long. */
  timeoutMs?: number;
  /** VPN cases (default on). `remoteCloud` is the cloud name used as the far side. */
  vpn?: false | { remoteCloud?: string };
  /**
   * False for clouds whose firewalls match destination ports only (AWS security
   * groups): a rule with a source port must then be refused with INVALID_ARGUMENT naming src_port.
   */
  sourcePorts?: false;
}

type NodeTest = typeof import('node:test');

/** The gRPC code of a rejection, or undefined when the call succeeded. */
async function codeOf(p: Promise<unknown>): Promise<{ code?: Code; message: string }> {
  try {
    await p;
    return { message: '' };
  } catch (e) {
    const ce = ConnectError.from(e);
    return { code: ce.code, message: ce.rawMessage };
  }
}

const ipInSpaces = (ip: string, spaces: string[]) =>
  spaces.some((s) => cidrContains(parseCidr(s, 'space', { allowHostBits: true }), parseCidr(ip, 'ip')));

const canonical = (r: PermitListRule) => ({
  name: r.name,
  targets: [...r.targets].sort(),
  direction: r.direction,
  srcPort: r.srcPort,
  dstPort: r.dstPort,
  protocol: r.protocol,
  tags: [...r.tags].sort(),
});
const sortRules = (rules: PermitListRule[]) =>
  rules.map(canonical).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/** Registers the conformance cases for one plugin under describe(`<name> conformance`). */
export function runConformance(opts: ConformanceOptions): void {
  // Loaded lazily so that importing the SDK never loads the test runner.
  const { describe, it, before, after } = createRequire(import.meta.url)('node:test') as NodeTest;
  const timeout = opts.timeoutMs ?? 120_000;
  const runId = randomBytes(2).toString('hex');
  let counter = 0;
  let t: ConformanceTarget | undefined;
  const created = new Set<string>();
  const remoteClouds = new Set<string>();

  const target = () => {
    if (!t) throw new Error('conformance setup did not complete');
    return t;
  };
  const dep = () => ({ ...target().deployment });
  const uniqueName = () => `cf-${runId}-${++counter}`;
  const newResource = async () => {
    const name = uniqueName();
    const res = await target().client.createResource({
      deployment: dep(),
      name,
      description: target().resourceDescription(name),
    });
    created.add(res.uri);
    return res;
  };
  /** The rules a resource enforces; its own rules never read back as deviations. */
  const permitList = async (uri: string) => {
    const live = await target().client.getPermitList({ namespace: dep().namespace, resource: uri });
    assert.deepEqual(live.deviations, [], `${uri}: the plugin's own rules read back as deviations`);
    return live.rules;
  };
  const addRules = (uri: string, rules: MessageInitShape<typeof PermitListRuleSchema>[]) =>
    target().client.addPermitListRules({ namespace: dep().namespace, resource: uri, rules });
  const deleteRules = (uri: string, ruleNames: string[]) =>
    target().client.deletePermitListRules({ namespace: dep().namespace, resource: uri, ruleNames });
  const mySpaces = async () => {
    const { namespace, id } = dep();
    const res = await target().client.getUsedAddressSpaces({ deployments: [dep()] });
    return res.addressSpaceMappings
      .filter((m) => m.namespace === namespace && m.deployment === id)
      .flatMap((m) => m.addressSpaces);
  };

  describe(`${opts.name} conformance`, { timeout: timeout * 40 }, () => {
    before(
      async () => {
        t = await opts.setup();
      },
      { timeout: timeout * 2 },
    );
    after(
      async () => {
        if (!t) return;
        for (const uri of created) {
          await t.client.deleteResource({ deployment: dep(), resource: uri }).catch(() => {});
        }
        for (const cloud of remoteClouds) {
          await t.client.deleteVpnConnections({ deployment: dep(), cloud }).catch(() => {});
        }
        await t.cleanup();
      },
      { timeout: timeout * 4 },
    );

    describe('CreateResource', () => {
      it('returns the name, a uri and an ip inside a reported address space', { timeout }, async () => {
        const r = await newResource();
        assert.match(r.name, /^cf-/);
        assert.ok(r.uri, 'uri is set');
        parseIp(r.ip, 'ip');
        const spaces = await mySpaces();
        assert.ok(
          ipInSpaces(r.ip, spaces),
          `${r.ip} is inside ${spaces.join(', ') || '(no address spaces)'}`,
        );
        const net = await target().client.getNetworkAddressSpaces({ deployment: dep() });
        assert.ok(ipInSpaces(r.ip, net.addressSpaces), `${r.ip} is inside GetNetworkAddressSpaces`);
      });

      it('gives two resources different addresses', { timeout }, async () => {
        const [a, b] = [await newResource(), await newResource()];
        assert.notEqual(a.uri, b.uri);
        assert.notEqual(a.ip, b.ip);
      });

      const networking: [string, (d: Record<string, unknown>) => void][] = [
        ['vpc', (d) => (d.vpc = 'vpc-123')],
        ['subnet', (d) => (d.subnet = 'subnet-1')],
        ['subnetId', (d) => (d.subnetId = 'subnet-1')],
        ['network', (d) => (d.network = 'default')],
        ['networkInterfaces', (d) => (d.networkInterfaces = [{ subnet: 'x' }])],
        ['network_interfaces', (d) => (d.network_interfaces = [{}])],
        ['networkProfile', (d) => (d.properties = { ...(d.properties as object), networkProfile: {} })],
      ];
      it('refuses networking details with InvalidArgument naming the key', { timeout }, async () => {
        for (const [key, add] of networking) {
          const name = uniqueName();
          const description = JSON.parse(new TextDecoder().decode(target().resourceDescription(name)));
          add(description);
          const got = await codeOf(
            target().client.createResource({
              deployment: dep(),
              name,
              description: new TextEncoder().encode(JSON.stringify(description)),
            }),
          );
          assert.equal(
            got.code,
            Code.InvalidArgument,
            `${key}: expected InvalidArgument, got ${got.code} ${got.message}`,
          );
          assert.ok(got.message.includes(key), `${key}: the message names the key: ${got.message}`);
        }
        const list = await target().client.listResources({ deployments: [dep()] });
        assert.ok(
          !list.resources.some((r) => r.name.startsWith(`cf-${runId}`) && !created.has(r.uri)),
          'nothing was created',
        );
      });
    });

    describe('AttachResource', () => {
      it('answers the name, uri and ip of a resource the cloud already has', { timeout }, async () => {
        const r = await newResource();
        const got = await target().client.attachResource({
          namespace: dep().namespace,
          resource: r.uri,
          deployment: dep(),
        });
        assert.deepEqual(
          { name: got.name, uri: got.uri, ip: got.ip },
          { name: r.name, uri: r.uri, ip: r.ip },
        );
      });

      it('refuses a resource it does not have with NotFound (or InvalidArgument for a malformed id)', {
        timeout,
      }, async () => {
        const r = await newResource();
        const missing = r.uri.replace(/[^/]+$/, `${uniqueName()}-missing`);
        const got = await codeOf(
          target().client.attachResource({
            namespace: dep().namespace,
            resource: missing,
            deployment: dep(),
          }),
        );
        assert.ok(
          got.code === Code.NotFound || got.code === Code.InvalidArgument,
          `got ${got.code} ${got.message}`,
        );
      });
    });

    describe('permit lists', () => {
      const ssh = {
        name: 'allow-ssh',
        targets: ['10.200.0.0/16'],
        direction: Direction.INBOUND,
        srcPort: -1,
        dstPort: 22,
        protocol: 6,
        tags: ['bastion'],
      };
      const rules = [
        ssh,
        {
          name: 'allow-dns',
          targets: ['10.201.0.5/32'],
          direction: Direction.OUTBOUND,
          srcPort: -1,
          dstPort: 53,
          protocol: 17,
          tags: ['10.201.0.5/32'],
        },
        {
          name: 'allow-ping',
          targets: ['10.202.0.0/24', '10.203.0.0/24'],
          direction: Direction.INBOUND,
          srcPort: -1,
          dstPort: -1,
          protocol: 1,
          tags: ['web', 'db'],
        },
        {
          name: 'allow-any-out',
          targets: ['10.204.0.0/16'],
          direction: Direction.OUTBOUND,
          srcPort: -1,
          dstPort: -1,
          protocol: -1,
          tags: [],
        },
        {
          name: 'allow-sport',
          targets: ['10.205.1.0/24'],
          direction: Direction.INBOUND,
          srcPort: 5000,
          dstPort: 8080,
          protocol: 6,
          tags: ['api'],
        },
      ];

      it('starts empty: a new resource denies everything', { timeout }, async () => {
        const r = await newResource();
        const live = await target().client.getPermitList({ namespace: dep().namespace, resource: r.uri });
        assert.deepEqual(live.rules, []);
        assert.equal(live.unfiltered, false, 'a new resource must be filtered (default deny)');
        assert.deepEqual(live.deviations, [], 'a new resource enforces nothing but its rules');
      });

      it('round-trips rules: tags, any ports, protocol numbers, both directions', { timeout }, async () => {
        const r = await newResource();
        const wanted = opts.sourcePorts === false ? rules.filter((x) => x.srcPort === -1) : rules;
        await addRules(r.uri, wanted);
        assert.deepEqual(sortRules(await permitList(r.uri)), sortRules(wanted as PermitListRule[]));
        await deleteRules(r.uri, ['allow-ssh', 'allow-dns']);
        assert.deepEqual(sortRules(await permitList(r.uri)), sortRules(wanted.slice(2) as PermitListRule[]));
        await deleteRules(
          r.uri,
          wanted.slice(2).map((x) => x.name),
        );
        assert.deepEqual(await permitList(r.uri), []);
      });

      if (opts.sourcePorts === false) {
        it('refuses a source port it cannot enforce, naming src_port, and changes nothing', {
          timeout,
        }, async () => {
          const r = await newResource();
          await addRules(r.uri, [ssh]);
          const sport = rules.find((x) => x.srcPort !== -1)!;
          const got = await codeOf(addRules(r.uri, [sport]));
          assert.equal(got.code, Code.InvalidArgument, `got ${got.code} ${got.message}`);
          assert.ok(got.message.includes('src_port'), got.message);
          assert.deepEqual(sortRules(await permitList(r.uri)), sortRules([ssh as PermitListRule]));
        });
      }

      it('replaces a rule added again under the same name', { timeout }, async () => {
        const r = await newResource();
        await addRules(r.uri, [ssh]);
        const changed = { ...ssh, dstPort: 2222, targets: ['10.210.0.0/16'], tags: ['jump'] };
        await addRules(r.uri, [changed]);
        assert.deepEqual(sortRules(await permitList(r.uri)), sortRules([changed as PermitListRule]));
      });

      it('ignores deleting a rule name it does not have', { timeout }, async () => {
        const r = await newResource();
        await addRules(r.uri, [ssh]);
        await deleteRules(r.uri, ['no-such-rule']);
        assert.deepEqual(sortRules(await permitList(r.uri)), sortRules([ssh as PermitListRule]));
      });

      it('refuses an unknown resource with NotFound (or InvalidArgument for a malformed uri)', {
        timeout,
      }, async () => {
        const r = await newResource();
        const got = await codeOf(permitList(`${r.uri}-missing`));
        assert.ok(
          got.code === Code.NotFound || got.code === Code.InvalidArgument,
          `got ${got.code} ${got.message}`,
        );
      });
    });

    describe('address spaces', () => {
      it('GetUsedAddressSpaces covers every resource, for this deployment', { timeout }, async () => {
        const a = await newResource();
        const b = await newResource();
        const spaces = await mySpaces();
        for (const ip of [a.ip, b.ip]) assert.ok(ipInSpaces(ip, spaces), `${ip} in ${spaces.join(', ')}`);
        for (const s of spaces) parseCidr(s, 'address space', { allowHostBits: true });
      });
    });

    if (opts.vpn !== false) {
      describe('VPN gateways and connections', () => {
        const remote = (opts.vpn || undefined)?.remoteCloud ?? `cf-remote-${runId}`;
        const asn = 64512 + (randomBytes(2).readUInt16BE() % 1000);
        const third = 100 + (randomBytes(1)[0]! % 100);
        const bgp = `169.254.${third}.1`;
        const remoteBgp = `169.254.${third}.2`;
        let gatewayIps: string[] = [];
        // Letters and digits only: every cloud's pre-shared key rules accept those (AWS: 8-64, no leading 0).
        const sharedKey = () => `k${randomBytes(20).toString('hex')}`;
        const connection = () => ({
          deployment: dep(),
          cloud: remote,
          asn: asn + 1000,
          gatewayIpAddresses: ['198.19.255.254'],
          bgpIpAddresses: [remoteBgp],
          sharedKey: sharedKey(),
        });
        const usedBgp = async () =>
          (await target().client.getUsedBgpPeeringIpAddresses({ deployments: [dep()] })).ipAddresses;
        const covers = (used: string[], ip: string) =>
          used.some(
            (u) => u === ip || cidrContains(parseCidr(u, 'ip', { allowHostBits: true }), parseCidr(ip)),
          );

        it('CreateVpnGateway returns the requested ASN and its gateway IPs (or none before a connection)', {
          timeout,
        }, async () => {
          remoteClouds.add(remote);
          const res = await target().client.createVpnGateway({
            deployment: dep(),
            cloud: remote,
            bgpPeeringIpAddresses: [bgp],
            asn,
          });
          assert.equal(res.asn, asn);
          for (const ip of res.gatewayIpAddresses) parseIp(ip, 'gateway_ip_addresses');
          gatewayIps = res.gatewayIpAddresses;
        });

        it('CreateVpnGateway again with the same request answers the same', { timeout }, async () => {
          const res = await target().client.createVpnGateway({
            deployment: dep(),
            cloud: remote,
            bgpPeeringIpAddresses: [bgp],
            asn,
          });
          assert.equal(res.asn, asn);
          assert.deepEqual([...res.gatewayIpAddresses].sort(), [...gatewayIps].sort());
        });

        it('GetUsedAsns includes the gateway ASN', { timeout }, async () => {
          const res = await target().client.getUsedAsns({ deployments: [dep()] });
          assert.ok(res.asns.includes(asn), `${asn} in [${res.asns.join(', ')}]`);
        });

        it('GetUsedBgpPeeringIpAddresses includes the peering address', { timeout }, async () => {
          const used = await usedBgp();
          assert.ok(covers(used, bgp), `${bgp} in [${used.join(', ')}]`);
        });

        it('CreateVpnConnections succeeds, is idempotent, and yields gateway IPs for the other side', {
          timeout,
        }, async () => {
          const req = connection();
          const first = await target().client.createVpnConnections(req);
          const again = await target().client.createVpnConnections(req);
          assert.deepEqual(
            again.gatewayIpAddresses,
            first.gatewayIpAddresses,
            'the same request, the same answer',
          );
          const ips = gatewayIps.length ? gatewayIps : first.gatewayIpAddresses;
          assert.ok(ips.length >= 1, 'the gateway or its connections give the other side an address to dial');
          for (const ip of first.gatewayIpAddresses) parseIp(ip, 'gateway_ip_addresses');
        });

        it('the connection reads back: ASN and peering addresses stay in use', { timeout }, async () => {
          const res = await target().client.getUsedAsns({ deployments: [dep()] });
          assert.ok(res.asns.includes(asn), `${asn} in [${res.asns.join(', ')}]`);
          const used = await usedBgp();
          assert.ok(covers(used, bgp), `${bgp} in [${used.join(', ')}]`);
        });

        it('DeleteVpnConnections removes them, and again is harmless', { timeout }, async () => {
          await target().client.deleteVpnConnections({ deployment: dep(), cloud: remote });
          await target().client.deleteVpnConnections({ deployment: dep(), cloud: remote });
          // and they can be made again afterwards
          await target().client.createVpnConnections(connection());
        });

        // DeleteVpnGateway arrived after the first plugins; called where the contract has it.
        it('DeleteVpnGateway (where the contract has it) leaves no ASN or peering address behind', {
          timeout,
        }, async (t) => {
          const call = (target().client as unknown as Record<string, (r: unknown) => Promise<unknown>>)
            .deleteVpnGateway;
          if (typeof call !== 'function') {
            t.skip('the contract has no DeleteVpnGateway yet');
            return;
          }
          await call({ deployment: dep(), cloud: remote });
          await call({ deployment: dep(), cloud: remote });
          remoteClouds.delete(remote);
          const asns = (await target().client.getUsedAsns({ deployments: [dep()] })).asns;
          assert.ok(!asns.includes(asn), `${asn} is gone from [${asns.join(', ')}]`);
          const used = await usedBgp();
          assert.ok(!covers(used, bgp) && !covers(used, remoteBgp), `no ${bgp} in [${used.join(', ')}]`);
        });
      });
    }

    describe('ListResources and DeleteResource', () => {
      it('ListResources reports a created resource with its address and deployment', {
        timeout,
      }, async () => {
        const r = await newResource();
        const list = await target().client.listResources({ deployments: [dep()] });
        const found = list.resources.find((x) => x.uri === r.uri);
        assert.ok(found, `${r.uri} is listed`);
        assert.equal(found.name, r.name);
        assert.equal(found.ip, r.ip);
        assert.equal(found.namespace, dep().namespace);
        assert.equal(found.deployment, dep().id);
        if (found.addressSpace) assert.ok(ipInSpaces(r.ip, [found.addressSpace]));
      });

      it('DeleteResource removes it; deleting again is harmless or NotFound', { timeout }, async () => {
        const r = await newResource();
        await target().client.deleteResource({ deployment: dep(), resource: r.uri });
        created.delete(r.uri);
        const list = await target().client.listResources({ deployments: [dep()] });
        assert.ok(!list.resources.some((x) => x.uri === r.uri), 'no longer listed');
        const again = await codeOf(target().client.deleteResource({ deployment: dep(), resource: r.uri }));
        assert.ok(
          again.code === undefined || again.code === Code.NotFound,
          `got ${again.code} ${again.message}`,
        );
      });
    });

    describe('CheckCredentials and Describe', () => {
      it('CheckCredentials answers ok', { timeout }, async () => {
        const res = await target().client.checkCredentials({ deployment: dep() });
        assert.equal(res.ok, true, res.message);
      });

      it('Describe names the plugin and its version, with a clock within 5 minutes', {
        timeout,
      }, async () => {
        const res = await target().client.describe({});
        assert.ok(res.name, 'name is set');
        assert.ok(res.version, 'version is set');
        const skew = Math.abs(Number(res.nowUnixMs) - Date.now());
        assert.ok(skew <= CLOCK_SKEW_LIMIT_MS, `clock is ${skew} ms off`);
      });
    });
  });
}
