// Permit-list rules (proto) <-> nftables filter rules (dataplane).
import { create } from '@bufbuild/protobuf';
import { encodeComment, type FilterRule, normalizeTargets, type ReadRule } from '@skyway/dataplane';
import { Direction, type PermitListRule, PermitListRuleSchema } from '@skyway/proto/plugin';
import { invalid } from './errors.js';
import { parseNet } from './ip.js';
import type { StoredRule } from './state.js';

const PORT_PROTOCOLS = new Set([-1, 6, 17, 132]);

/** Validates one rule and returns it as a plain record; errors name the field. */
export function checkRule(r: PermitListRule, field: string): StoredRule {
  if (!r.name) throw invalid(`${field}.name is required`, `${field}.name`);
  if (r.direction !== Direction.INBOUND && r.direction !== Direction.OUTBOUND) {
    throw invalid(`${field}.direction must be INBOUND or OUTBOUND`, `${field}.direction`);
  }
  for (const [v, name] of [
    [r.srcPort, 'src_port'],
    [r.dstPort, 'dst_port'],
  ] as const) {
    if (!Number.isInteger(v) || v < -1 || v > 65535) {
      throw invalid(`${field}.${name} must be -1 (any) or 0-65535, got ${v}`, `${field}.${name}`);
    }
  }
  if (!Number.isInteger(r.protocol) || r.protocol < -1 || r.protocol > 255) {
    throw invalid(`${field}.protocol must be -1 (any) or 0-255, got ${r.protocol}`, `${field}.protocol`);
  }
  if ((r.srcPort !== -1 || r.dstPort !== -1) && !PORT_PROTOCOLS.has(r.protocol)) {
    throw invalid(
      `${field}: ports need protocol -1, 6 (TCP), 17 (UDP) or 132 (SCTP), got ${r.protocol}`,
      `${field}.protocol`,
    );
  }
  r.targets.forEach((t, i) => {
    parseNet(t, `${field}.targets[${i}]`);
  });
  try {
    encodeComment(r.name, r.tags);
  } catch (e) {
    throw invalid(`${field}: ${(e as Error).message}`, `${field}.name`);
  }
  return {
    name: r.name,
    targets: [...r.targets],
    direction: r.direction,
    srcPort: r.srcPort,
    dstPort: r.dstPort,
    protocol: r.protocol,
    tags: [...r.tags],
  };
}

export const toFilterRule = (r: StoredRule): FilterRule => ({
  name: r.name,
  direction: r.direction === Direction.OUTBOUND ? 'out' : 'in',
  targets: r.targets,
  protocol: r.protocol,
  srcPort: r.srcPort,
  dstPort: r.dstPort,
  tags: r.tags,
});

const sameTargets = (a: string[], b: string[]) => {
  const x = normalizeTargets(a);
  const y = normalizeTargets(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

/**
 * A rule read from the live ruleset, as a PermitListRule. When the live rule
 * matches what we applied, targets keep the caller's spelling (10.0.0.5/32
 * stays 10.0.0.5/32); on drift the live values win.
 */
export function fromReadRule(live: ReadRule, stored: StoredRule | undefined): PermitListRule {
  const direction = live.direction === 'out' ? Direction.OUTBOUND : Direction.INBOUND;
  const targets =
    stored && stored.direction === direction && sameTargets(stored.targets, live.targets)
      ? stored.targets
      : live.targets;
  return create(PermitListRuleSchema, {
    name: live.name,
    targets: [...targets],
    direction,
    srcPort: live.srcPort,
    dstPort: live.dstPort,
    protocol: live.protocol,
    tags: live.tagsWithheld && stored ? [...stored.tags] : live.tags,
  });
}
