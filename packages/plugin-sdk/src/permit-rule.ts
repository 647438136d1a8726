// Checks a PermitListRule as it arrives over the contract, so every plugin
// refuses the same bad rules with the same field names.
import { invalidArgument, parseCidr } from '@skyway/core';
import { Direction, type PermitListRule } from '@skyway/proto/plugin';

/** A rule's fields as a plain record of its own (nothing shared with `r`), for keeping or copying. */
export function permitListRuleFields(r: PermitListRule) {
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

/** Throws INVALID_ARGUMENT naming the field (`<field>.dst_port`, `<field>.targets[2]`, ...). */
export function checkPermitListRule(r: PermitListRule, field: string): void {
  if (!r.name) throw invalidArgument(`${field}.name is required`, `${field}.name`);
  if (r.direction !== Direction.INBOUND && r.direction !== Direction.OUTBOUND) {
    throw invalidArgument(`${field}.direction must be INBOUND or OUTBOUND`, `${field}.direction`);
  }
  for (const [v, name] of [
    [r.srcPort, 'src_port'],
    [r.dstPort, 'dst_port'],
  ] as const) {
    if (!Number.isInteger(v) || v < -1 || v > 65535) {
      throw invalidArgument(`${field}.${name} must be -1 (any) or 0-65535, got ${v}`, `${field}.${name}`);
    }
  }
  if (!Number.isInteger(r.protocol) || r.protocol < -1 || r.protocol > 255) {
    throw invalidArgument(
      `${field}.protocol must be -1 (any) or an IANA number 0-255, got ${r.protocol}`,
      `${field}.protocol`,
    );
  }
  r.targets.forEach((t, i) => {
    parseCidr(t, `${field}.targets[${i}]`, { allowHostBits: true });
  });
}
