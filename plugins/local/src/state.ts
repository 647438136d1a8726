// The lab cloud's own records, one JSON file under the state directory
// (default /run/skyway/<cloud>/state.json), written atomically. The kernel is
// the other half of the truth: readers check namespaces and rulesets too.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';

export interface StoredRule {
  name: string;
  targets: string[];
  direction: number;
  srcPort: number;
  dstPort: number;
  protocol: number;
  tags: string[];
}

export interface VpcState {
  namespace: string;
  region: string;
  deployment: string;
  addressSpace: string;
  gatewayIp: string;
  router: string;
  /** Keys of VPCs this one is peered with. */
  peers: string[];
}

export interface VmState {
  name: string;
  namespace: string;
  region: string;
  deployment: string;
  uri: string;
  ip: string;
  netns: string;
  command?: string;
  pid?: number;
  createdAt: string;
  /** The rules as last applied (targets as the caller wrote them). */
  rules: StoredRule[];
}

export interface ConnectionState {
  remoteAsn: number;
  remoteGatewayIps: string[];
  remoteBgpIps: string[];
}

export interface GatewayState {
  namespace: string;
  deployment: string;
  remoteCloud: string;
  asn: number;
  bgpPeeringIps: string[];
  publicIp: string;
  tunnel: string;
  connection?: ConnectionState;
}

export interface LabState {
  vpcs: Record<string, VpcState>;
  vms: Record<string, VmState>;
  gateways: Record<string, GatewayState>;
}

export const vpcKey = (ns: string, region: string) => `${ns}/${region}`;
export const vmKey = (ns: string, region: string, name: string) => `${ns}/${region}/${name}`;
export const gatewayKey = (ns: string, remote: string) => `${ns}/${remote}`;

export class StateFile {
  constructor(readonly dir: string) {}

  get path() {
    return `${this.dir}/state.json`;
  }

  async load(): Promise<LabState> {
    try {
      const s = JSON.parse(await readFile(this.path, 'utf8')) as Partial<LabState>;
      return { vpcs: s.vpcs ?? {}, vms: s.vms ?? {}, gateways: s.gateways ?? {} };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { vpcs: {}, vms: {}, gateways: {} };
      throw e;
    }
  }

  async save(s: LabState): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, this.path);
  }
}
