// Permit-list rules (proto) <-> nftables filter rules (dataplane).
import { create } from '@bufbuild/protobuf';
import { encodeComment, type FilterRule, normalizeTargets, type ReadRule } from '@skyway/dataplane';
import { checkPermitListRule, permitListRuleFields } from '@skyway/plugin-sdk';
import { Direction, type PermitListRule, PermitListRuleSchema } from '@skyway/proto/plugin';
import { invalid } from './errors.js';
import type { StoredRule } from './state.js';

const PORT_PROTOCOLS = new Set([-1, 6, 17, 132]);

/** Validates one rule and returns it as a plain record; errors name the field. */
export function checkRule(r: PermitListRule, field: string): StoredRule {
  checkPermitListRule(r, field);
  if ((r.srcPort !== -1 || r.dstPort !== -1) && !PORT_PROTOCOLS.has(r.protocol)) {
    throw invalid(
      `${field}: ports need protocol -1, 6 (TCP), 17 (UDP) or 132 (SCTP), got ${r.protocol}`,
      `${field}.protocol`,
    );
  }
  try {
    encodeComment(r.name, r.tags);
  } catch (e) {
    throw invalid(`${field}: ${(e as Error).message}`, `${field}.name`);
  }
  return permitListRuleFields(r);
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
