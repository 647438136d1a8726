// Per-namespace firewall: one `inet` table, default drop in both directions,
// replaced atomically with `nft -f -`. Every permit rule carries a comment with
// its name and tags, so the permit list can be read back from the live ruleset
// (`nft -j list table`), together with its per-rule counters; whatever else is
// in the table (a rule added by hand, a changed policy) reads back as a deviation.
import { assertSkyName } from './names.js';
import type { CommandRunner } from './runner.js';

export const TABLE = 'skyway';

export type FilterDirection = 'in' | 'out';

export interface FilterRule {
  name: string;
  /** `in`: new connections from the targets to this namespace; `out`: from this namespace to the targets. */
  direction: FilterDirection;
  /** IPv4 addresses or CIDRs; empty means any address. */
  targets: string[];
  /** IANA protocol number; -1 = any. */
  protocol: number;
  /** -1 = any. */
  srcPort: number;
  dstPort: number;
  tags: string[];
}

export interface RuleCounters {
  name: string;
  packets: number;
  bytes: number;
}

export interface ReadRule extends FilterRule {
  packets: number;
  bytes: number;
  /** The tags did not fit in the comment (see encodeComment); look them up where they were kept. */
  tagsWithheld?: boolean;
}

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp' };
const PROTO_NUMBERS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, sctp: 132 };
const MAX_COMMENT = 127;

/**
 * `n=<name>;t=<tag>,<tag>` (URI-encoded). nftables keeps at most 127 bytes of
 * comment: when the tags do not fit they are withheld (`n=<name>;x=<count>`)
 * and the caller keeps them elsewhere; only a name that alone does not fit is refused.
 */
export function encodeComment(name: string, tags: string[]): string {
  const c = `n=${encodeURIComponent(name)};t=${tags.map(encodeURIComponent).join(',')}`;
  if (c.length <= MAX_COMMENT) return c;
  const short = `n=${encodeURIComponent(name)};x=${tags.length}`;
  if (short.length > MAX_COMMENT) {
    throw new Error(
      `rule name ${JSON.stringify(name)} needs ${short.length} bytes, nftables comments hold ${MAX_COMMENT}`,
    );
  }
  return short;
}

export function decodeComment(
  c: string | undefined,
): { name: string; tags: string[]; tagsWithheld?: boolean } | undefined {
  const m = /^n=([^;]*);(t|x)=(.*)$/.exec(c ?? '');
  if (!m) return undefined;
  const name = decodeURIComponent(m[1]!);
  if (m[2] === 'x') return { name, tags: [], tagsWithheld: true };
  return { name, tags: m[3] ? m[3].split(',').map(decodeURIComponent) : [] };
}

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(\/(\d{1,2}))?$/;

function checkTarget(t: string): string {
  const m = IPV4_CIDR.exec(t);
  if (!m || [1, 2, 3, 4].some((i) => Number(m[i]) > 255) || (m[6] !== undefined && Number(m[6]) > 32)) {
    throw new Error(`target ${JSON.stringify(t)} is not an IPv4 address or CIDR`);
  }
  return t;
}

function checkPort(p: number, what: string): number {
  if (!Number.isInteger(p) || p < -1 || p > 65535) throw new Error(`${what} ${p} is not a port or -1`);
  return p;
}

const toInt = (ip: string) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
const toIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/**
 * Targets in the form nftables prints them back: network address, no `/32`,
 * sorted, with prefixes covered by another one dropped (nft merges those).
 */
export function normalizeTargets(targets: string[]): string[] {
  const nets = targets.map((t) => {
    checkTarget(t);
    const [ip, len] = t.split('/');
    const l = len === undefined ? 32 : Number(len);
    const size = 2 ** (32 - l);
    return { start: Math.floor(toInt(ip!) / size) * size, len: l, size };
  });
  nets.sort((a, b) => a.start - b.start || a.len - b.len);
  const kept: typeof nets = [];
  for (const n of nets) {
    const last = kept[kept.length - 1];
    if (last && n.start >= last.start && n.start + n.size <= last.start + last.size) continue;
    kept.push(n);
  }
  return kept.map((n) => (n.len === 32 ? toIp(n.start) : `${toIp(n.start)}/${n.len}`));
}

/**
 * A permit rule's verdict. No targets (a tag with no members) permits nothing:
 * the rule stays, for read-back, but only counts and lets the chain's drop policy decide.
 */
const permitVerdict = (r: FilterRule) => (r.targets.length === 0 ? 'continue' : 'accept');

export function renderRule(r: FilterRule): string {
  const parts: string[] = [];
  const addrField = r.direction === 'in' ? 'saddr' : 'daddr';
  const targets = normalizeTargets(r.targets);
  if (targets.length === 1) parts.push(`ip ${addrField} ${targets[0]}`);
  else if (targets.length > 1) parts.push(`ip ${addrField} { ${targets.join(', ')} }`);
  checkPort(r.srcPort, 'src_port');
  checkPort(r.dstPort, 'dst_port');
  const ports = r.srcPort !== -1 || r.dstPort !== -1;
  if (r.protocol === -1) {
    if (ports) parts.push('meta l4proto { tcp, udp }');
  } else {
    if (!Number.isInteger(r.protocol) || r.protocol < 0 || r.protocol > 255) {
      throw new Error(`protocol ${r.protocol} is not an IANA protocol number or -1`);
    }
    if (ports && r.protocol !== 6 && r.protocol !== 17 && r.protocol !== 132) {
      throw new Error(`rule ${JSON.stringify(r.name)}: ports need protocol tcp (6), udp (17) or sctp (132)`);
    }
    parts.push(`meta l4proto ${PROTO_NAMES[r.protocol] ?? r.protocol}`);
  }
  if (r.srcPort !== -1) parts.push(`th sport ${r.srcPort}`);
  if (r.dstPort !== -1) parts.push(`th dport ${r.dstPort}`);
  parts.push(`ct state new counter ${permitVerdict(r)}`, `comment "${encodeComment(r.name, r.tags)}"`);
  return parts.join(' ');
}

type BaseChain = 'input' | 'output';
/** The table's two chains, each hooked where its name says, and the direction of its rules. */
const baseChains: Record<BaseChain, FilterDirection> = { input: 'in', output: 'out' };
/** What each chain does before its permit rules: replies pass, invalid packets drop, loopback passes. */
const baseRules: Record<BaseChain, string[]> = {
  input: ['ct state established,related accept', 'ct state invalid drop', 'iifname "lo" accept'],
  output: ['ct state established,related accept', 'ct state invalid drop', 'oifname "lo" accept'],
};

/**
 * The whole table. The leading `table` + `delete table` make `nft -f -` replace
 * it atomically (one transaction) whether or not it existed.
 */
export function renderTable(rules: FilterRule[], opts: { table?: string } = {}): string {
  const table = opts.table ?? TABLE;
  const names = new Set<string>();
  for (const r of rules) {
    if (names.has(r.name)) throw new Error(`duplicate rule name ${JSON.stringify(r.name)}`);
    names.add(r.name);
  }
  const body = (dir: FilterDirection) =>
    rules
      .filter((r) => r.direction === dir)
      .map((r) => `    ${renderRule(r)}\n`)
      .join('');
  const chain = (name: BaseChain) =>
    `  chain ${name} {
    type filter hook ${name} priority filter; policy drop;
${baseRules[name].map((r) => `    ${r}\n`).join('')}${body(baseChains[name])}  }
`;
  return `table inet ${table}
delete table inet ${table}
table inet ${table} {
${chain('input')}${chain('output')}}
`;
}

type Json = Record<string, unknown>;

function addrsOf(right: unknown): string[] {
  if (typeof right === 'string') return [right];
  const r = right as Json;
  if (r && typeof r === 'object') {
    if ('prefix' in r) {
      const p = r.prefix as { addr: string; len: number };
      return [`${p.addr}/${p.len}`];
    }
    if ('set' in r) return (r.set as unknown[]).flatMap(addrsOf);
    if ('range' in r) throw new Error('address ranges are not used by Skyway rules');
  }
  return [];
}

function protoOf(right: unknown): number {
  if (typeof right === 'number') return right;
  if (typeof right === 'string') return PROTO_NUMBERS[right] ?? Number(right);
  return -1; // a set such as { tcp, udp } means "any" in our model
}

const verdicts = new Set(['accept', 'drop', 'reject', 'continue', 'return', 'jump', 'goto', 'queue']);

/** A value of nft's JSON as nft prints it (quotes left out). */
function valueText(v: unknown): string {
  if (Array.isArray(v)) return v.map(valueText).join(',');
  if (v === null || typeof v !== 'object') return String(v);
  const o = v as Json;
  if ('prefix' in o) {
    const p = o.prefix as { addr: string; len: number };
    return `${p.addr}/${p.len}`;
  }
  if ('set' in o) return `{ ${(o.set as unknown[]).map(valueText).join(', ')} }`;
  if ('range' in o) return (o.range as unknown[]).map(valueText).join('-');
  return Object.keys(o)[0] ?? '?';
}

function matchedText(left: Json): string {
  const p = left.payload as { protocol?: string; field?: string } | undefined;
  if (p) return `${p.protocol} ${p.field}`;
  const meta = (left.meta as { key: string } | undefined)?.key;
  if (meta) return meta === 'iifname' || meta === 'oifname' ? meta : `meta ${meta}`;
  const ct = (left.ct as { key: string } | undefined)?.key;
  if (ct) return `ct ${ct}`;
  return Object.keys(left)[0] ?? '?';
}

/** A rule's statements as nft prints them, near enough for people and to recognize the base rules (counters left out). */
function ruleText(expr: Json[]): string {
  const parts: string[] = [];
  for (const e of expr) {
    const [key, v] = Object.entries(e)[0] ?? ['?', null];
    if (key === 'counter') continue;
    if (key === 'match') {
      const m = v as { op: string; left: Json; right: unknown };
      const op = m.op === '==' || m.op === 'in' ? '' : `${m.op} `;
      parts.push(`${matchedText(m.left)} ${op}${valueText(m.right)}`);
    } else if (key === 'jump' || key === 'goto') parts.push(`${key} ${(v as { target: string }).target}`);
    else parts.push(key);
  }
  return parts.join(' ');
}

/** The live table: its permit rules, and whatever else differs from the table Skyway rendered. */
export interface LiveTable {
  rules: ReadRule[];
  /** One line each, for people: a rule Skyway did not write, a base rule gone, a chain changed or added. */
  deviations: string[];
  /** A chain is gone or lets through what no rule permits: the default deny does not hold. */
  unfiltered: boolean;
}

/** Parses `nft -j list table inet <table>` into its permit rules and what else differs from renderTable's. */
export function parseTable(json: string): LiveTable {
  const doc = JSON.parse(json) as { nftables: Json[] };
  const live: LiveTable = { rules: [], deviations: [], unfiltered: false };
  const seenChains = new Set<string>();
  const unseenBase = new Map(
    Object.entries(baseRules).map(([c, rules]) => [c, rules.map((r) => r.replaceAll('"', ''))]),
  );
  for (const item of doc.nftables) {
    const chain = item.chain as { name: string; hook?: string; type?: string; policy?: string } | undefined;
    if (chain) {
      seenChains.add(chain.name);
      if (!(chain.name in baseChains)) live.deviations.push(`chain ${chain.name} is not Skyway's`);
      else if (chain.hook !== chain.name || chain.type !== 'filter') {
        live.unfiltered = true;
        live.deviations.push(`chain ${chain.name} is no longer a filter on the ${chain.name} hook`);
      } else if (chain.policy !== 'drop') {
        live.unfiltered = true;
        live.deviations.push(`chain ${chain.name} has policy ${chain.policy}, not drop`);
      }
      continue;
    }
    const rule = item.rule as { chain: string; handle?: number; comment?: string; expr: Json[] } | undefined;
    if (!rule || !(rule.chain in baseChains)) continue;
    const text = ruleText(rule.expr);
    const meta = decodeComment(rule.comment);
    if (!meta) {
      const base = unseenBase.get(rule.chain)!;
      const i = base.indexOf(text);
      if (i >= 0) base.splice(i, 1);
      else
        live.deviations.push(
          `chain ${rule.chain} has a rule Skyway did not write (handle ${rule.handle}): ${text}`,
        );
      continue;
    }
    const r = readRule(rule.chain as BaseChain, meta, rule.expr);
    const verdict = rule.expr.map((e) => Object.keys(e)[0]!).find((k) => verdicts.has(k)) ?? 'no verdict';
    if (verdict !== permitVerdict(r))
      live.deviations.push(
        `rule ${r.name} in chain ${rule.chain} ends in ${verdict}, not ${permitVerdict(r)}`,
      );
    live.rules.push(r);
  }
  for (const [chain, missing] of unseenBase) {
    if (!seenChains.has(chain)) {
      live.unfiltered = true;
      live.deviations.push(`chain ${chain} is gone`);
    } else for (const text of missing) live.deviations.push(`chain ${chain} lost its base rule: ${text}`);
  }
  return live;
}

/** A labelled rule's fields, read from its statements. */
function readRule(chain: BaseChain, meta: NonNullable<ReturnType<typeof decodeComment>>, expr: Json[]) {
  const r: ReadRule = {
    name: meta.name,
    tags: meta.tags,
    ...(meta.tagsWithheld ? { tagsWithheld: true } : {}),
    direction: baseChains[chain],
    targets: [],
    protocol: -1,
    srcPort: -1,
    dstPort: -1,
    packets: 0,
    bytes: 0,
  };
  for (const e of expr) {
    if (e.counter) {
      const c = e.counter as { packets: number; bytes: number };
      r.packets = c.packets;
      r.bytes = c.bytes;
    }
    const m = e.match as { left: Json; right: unknown } | undefined;
    if (!m) continue;
    const payload = m.left.payload as { protocol: string; field: string } | undefined;
    const metaKey = (m.left.meta as { key: string } | undefined)?.key;
    if (payload?.protocol === 'ip' && (payload.field === 'saddr' || payload.field === 'daddr')) {
      r.targets = addrsOf(m.right);
    } else if (metaKey === 'l4proto' || (payload?.protocol === 'ip' && payload.field === 'protocol')) {
      r.protocol = protoOf(m.right);
    } else if (payload && (payload.field === 'sport' || payload.field === 'dport')) {
      if (payload.protocol in PROTO_NUMBERS) r.protocol = PROTO_NUMBERS[payload.protocol]!;
      if (payload.field === 'sport') r.srcPort = Number(m.right);
      else r.dstPort = Number(m.right);
    }
  }
  return r;
}

export class Nftables {
  constructor(private readonly runner: CommandRunner) {}

  /** Replaces the namespace's table atomically with default drop plus these permit rules. */
  async apply(netns: string, rules: FilterRule[], opts: { table?: string } = {}): Promise<void> {
    await this.runner.run('nft', ['-f', '-'], {
      netns: assertSkyName('netns', netns),
      input: renderTable(rules, opts),
    });
  }

  /** The live table (permit rules with counters, deviations); undefined when the table does not exist. */
  async read(netns: string, opts: { table?: string } = {}): Promise<LiveTable | undefined> {
    const r = await this.runner.run('nft', ['-j', 'list', 'table', 'inet', opts.table ?? TABLE], {
      netns: assertSkyName('netns', netns),
      allowFail: true,
    });
    if (r.code !== 0) return undefined;
    return parseTable(r.stdout);
  }

  async counters(netns: string, opts: { table?: string } = {}): Promise<RuleCounters[]> {
    return ((await this.read(netns, opts))?.rules ?? []).map((r) => ({
      name: r.name,
      packets: r.packets,
      bytes: r.bytes,
    }));
  }

  async remove(netns: string, opts: { table?: string } = {}): Promise<void> {
    await this.runner.run('nft', ['delete', 'table', 'inet', opts.table ?? TABLE], {
      netns: assertSkyName('netns', netns),
      allowFail: true,
    });
  }

  /** Applies raw nft text (for forwarding filters on routers and gateways). */
  async applyRaw(netns: string, text: string): Promise<void> {
    await this.runner.run('nft', ['-f', '-'], { netns: assertSkyName('netns', netns), input: text });
  }
}
