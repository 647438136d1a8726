// Paraglider's wire format, both ways. glide is Go: encoding/json drops every
// zero field (omitempty), writes enums as integers, ignores keys it does not
// know and reads lists as bare arrays with the proto's JSON names. These
// functions translate between that and the services' own inputs and rows,
// so the services never see Paraglider's format.
import { invalidArgument, type RuleInput, type Tag } from '@skyway/core';
import type { RuleRow } from '../../store/store.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Protocols with ports (TCP, UDP, SCTP); Paraglider's clouds ignore ports on any other. */
const PORTED = new Set([6, 17, 132]);

/** Go's zero value for an absent (or null) number. */
const zero = (v: unknown) => (v === undefined || v === null ? 0 : v);

/**
 * A paragliderpb.PermitListRule as glide sends it, as the services' input.
 * Absent direction, protocol and ports are Go's zero (INBOUND, protocol 0,
 * port 0). Ports on a protocol without ports (ICMP: glide's --ping sends -1,
 * the documented example sends protocol 3 with ports 1 and 2) mean nothing to
 * Paraglider's clouds, so they become "any" rather than a refusal. `targets`
 * is ignored (the controller resolves tags, as Paraglider does) and so is any
 * unknown key, such as the `id` of Paraglider's documented example.
 */
export function ruleIn(raw: unknown, field: string): RuleInput {
  if (!isObject(raw)) throw invalidArgument(`${field} must be a JSON object (a PermitListRule)`, field);
  const protocol = zero(raw.protocol) as number;
  const ported = PORTED.has(protocol);
  const tags = raw.tags ?? [];
  if (!Array.isArray(tags)) throw invalidArgument(`${field}.tags must be a list of tags`, `${field}.tags`);
  return {
    name: (raw.name ?? '') as string,
    direction: zero(raw.direction) as number,
    protocol,
    src_port: ported ? (zero(raw.src_port) as number) : -1,
    dst_port: ported ? (zero(raw.dst_port) as number) : -1,
    tags: tags as string[],
  };
}

/** A bare JSON array of rules (applyRules, tag rules). */
export function rulesIn(raw: unknown, field = 'rules'): RuleInput[] {
  if (!Array.isArray(raw)) throw invalidArgument(`${field} must be a JSON array of PermitListRules`, field);
  return raw.map((r, i) => ruleIn(r, `${field}[${i}]`));
}

/** A bare JSON array of rule names (deleteRules, DELETE tag rules). */
export function namesIn(raw: unknown, field = 'rule_names'): string[] {
  if (!Array.isArray(raw) || raw.some((n) => typeof n !== 'string'))
    throw invalidArgument(`${field} must be a JSON array of rule names`, field);
  return raw as string[];
}

/** A stored rule as paragliderpb.PermitListRule JSON: proto names, integer direction, zero fields left out. */
export function ruleOut(r: RuleRow): Json {
  const o: Json = {};
  if (r.name) o.name = r.name;
  if (r.targets.length > 0) o.targets = r.targets;
  if (r.direction === 'OUTBOUND') o.direction = 1;
  if (r.srcPort !== 0) o.src_port = r.srcPort;
  if (r.dstPort !== 0) o.dst_port = r.dstPort;
  if (r.protocol !== 0) o.protocol = r.protocol;
  if (r.tags.length > 0) o.tags = r.tags;
  return o;
}

/** A tag as tagservicepb.TagMapping JSON: name, child_tags, uri, ip (uri and ip are optional in the proto). */
export function tagOut(t: Pick<Tag, 'name' | 'members' | 'uri' | 'ip'>): Json {
  const o: Json = { name: t.name };
  if (t.members.length > 0) o.child_tags = t.members;
  if (t.uri !== undefined) o.uri = t.uri;
  if (t.ip !== undefined) o.ip = t.ip;
  return o;
}

export interface TagMappingIn {
  name: string;
  childTags: string[];
  uri?: string;
  ip?: string;
}

/** A tagservicepb.TagMapping as glide's `tag set` sends it; the tag of the path when the body names none. */
export function tagMappingIn(raw: unknown, pathTag: string): TagMappingIn {
  if (!isObject(raw)) throw invalidArgument('the body must be a JSON object (a TagMapping)', 'name');
  // Paraglider's docs show `tag_name`; its proto (and so glide) sends `name`.
  const name = (raw.name ?? raw.tag_name ?? pathTag) as unknown;
  if (typeof name !== 'string') throw invalidArgument('name must be a string', 'name');
  if (name && name !== pathTag)
    throw invalidArgument(`name "${name}" does not match the path's tag "${pathTag}"`, 'name');
  const childTags = raw.child_tags ?? [];
  if (!Array.isArray(childTags) || childTags.some((c) => typeof c !== 'string'))
    throw invalidArgument('child_tags must be a list of tag names', 'child_tags');
  for (const k of ['uri', 'ip'] as const)
    if (raw[k] !== undefined && raw[k] !== null && typeof raw[k] !== 'string')
      throw invalidArgument(`${k} must be a string`, k);
  const uri = (raw.uri as string | null | undefined) || undefined;
  const ip = (raw.ip as string | null | undefined) || undefined;
  if (childTags.length > 0 && (uri || ip))
    throw invalidArgument('a tag has child_tags or a uri/ip, not both', 'child_tags');
  if (childTags.length === 0 && !uri && !ip)
    throw invalidArgument('a TagMapping needs child_tags, a uri or an ip', 'child_tags');
  return { name: pathTag, childTags: childTags as string[], uri, ip };
}

/** The body of a create or attach: paragliderpb.ResourceDescriptionString, or orchestrator.ResourceID. */
export function resourceIn(raw: unknown): { name?: string; description?: unknown; id?: string } {
  if (!isObject(raw))
    throw invalidArgument('the body must be a JSON object (name and description, or id)', 'description');
  const description = raw.description;
  const hasDescription = typeof description === 'string' ? description !== '' : isObject(description);
  if (hasDescription) {
    if (raw.name !== undefined && typeof raw.name !== 'string')
      throw invalidArgument('name must be a string', 'name');
    return { name: (raw.name as string | undefined) || undefined, description };
  }
  if (typeof raw.id === 'string' && raw.id) return { id: raw.id };
  // Paraglider: a description makes it a create, an id an attach; anything else is refused.
  throw invalidArgument('the body needs a description (create) or an id (attach)', 'description');
}
