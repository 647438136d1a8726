// The tag model: a leaf tag names one resource (uri + ip); a parent tag groups
// tag names and IP/CIDR literals. Rules and subscriptions refer to tags, and
// the controller resolves them to CIDRs through these functions.
import { type Cidr, compareCidrs, formatCidr, parseCidr } from './cidr.js';
import { invalidArgument, notFound, permissionDenied } from './errors.js';

export interface Tag {
  name: string;
  /** Set on leaf tags: the resource the tag stands for. */
  uri?: string;
  /** Set on leaf tags: the resource's address. */
  ip?: string;
  /** Set on parent tags: tag names or IP/CIDR literals. */
  members: string[];
  /**
   * The namespace that owns the tag: a leaf's is its resource's; a parent's is the one it was
   * made in. Unset: a global tag, which only admins change and every namespace may use.
   */
  namespace?: string;
  /** Namespaces (besides the owner) whose rules and tags may name this tag; set by its owner. */
  sharedWith?: string[];
}

/**
 * May a rule or tag of `namespace` name `tag`? Yes for the namespace's own tags, global tags and
 * tags shared with it. `namespace` undefined (a global tag's members) may name any tag.
 */
export function tagUsableFrom(tag: Tag, namespace: string | undefined): boolean {
  return (
    namespace === undefined ||
    tag.namespace === undefined ||
    tag.namespace === namespace ||
    (tag.sharedWith ?? []).includes(namespace)
  );
}

/** The error for naming a tag that `namespace` may not use. */
export function tagNotShared(tag: Tag, namespace: string, field?: string) {
  const e = permissionDenied(
    `tag "${tag.name}" belongs to namespace "${tag.namespace}" and is not shared with "${namespace}"`,
  );
  return field ? Object.assign(e, { field }) : e;
}

export type TagLookup = (name: string) => Tag | undefined;

export interface Resolution {
  /** Every reachable address and prefix in CIDR form, sorted numerically, without duplicates. */
  cidrs: string[];
  /** Every reachable leaf tag, once each, in first-visit order. */
  leaves: Tag[];
}

const TAG_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
// Anything shaped like a dotted quad is treated as an address, never a tag
// name, so that "10.0.0.256" is reported as a bad address and not looked up.
const LOOKS_LIKE_IP = /^\d+\.\d+\.\d+\.\d+(\/.*)?$/;

const isLiteral = (s: string) => LOOKS_LIKE_IP.test(s);

export function validateTagName(name: string, field = 'name'): void {
  if (typeof name !== 'string' || name.length < 1 || name.length > 253) {
    throw invalidArgument(`${field} must be a tag name of 1-253 characters`, field);
  }
  if (isLiteral(name)) {
    throw invalidArgument(`${field} "${name}" is an IP address or CIDR, which cannot be a tag name`, field);
  }
  if (!TAG_NAME.test(name)) {
    throw invalidArgument(
      `${field} "${name}" is not a valid tag name (letters, digits and . _ : -, starting with a letter or digit)`,
      field,
    );
  }
}

/**
 * Validates a tag reference (a tag name or an IP/CIDR literal), as found in
 * parent tag members and rule tags, and returns it normalized (IP -> /32).
 */
export function validateTagRef(ref: string, field: string): string {
  if (typeof ref === 'string' && isLiteral(ref)) return formatCidr(parseCidr(ref, field));
  validateTagName(ref, field);
  return ref;
}

export function leafTagName(namespace: string, cloud: string, resourceName: string): string {
  return `${namespace}.${cloud}.${resourceName}`;
}

export function tagCycleError(path: string[], field?: string) {
  return invalidArgument(`tags form a cycle: ${path.join(' -> ')}`, field, 'TAG_CYCLE');
}

// Walks are iterative (explicit stacks): tag nesting depth is user-controlled
// and recursion would overflow the call stack on long chains.
interface Frame {
  name: string;
  tag?: Tag;
  members: readonly string[];
  next: number;
}

/**
 * Resolves a tag (or a literal) to the addresses it stands for. With `from`, the tag is resolved
 * for a rule of that namespace and must be usable from it (PermissionDenied otherwise). A member
 * its parent's namespace may no longer use (a share withdrawn since) is left out.
 */
export function resolveTag(name: string, lookup: TagLookup, opts: { from?: string } = {}): Resolution {
  const cidrs = new Map<string, Cidr>();
  const leaves: Tag[] = [];
  const done = new Set<string>();
  const onPath = new Set<string>();
  const stack: Frame[] = [];

  const addCidr = (s: string, field: string) => {
    const c = parseCidr(s, field);
    cidrs.set(formatCidr(c), c);
  };

  const enter = (ref: string, parent: Tag | undefined) => {
    if (isLiteral(ref)) return addCidr(ref, parent ? `tag ${parent.name} member` : 'tag');
    if (onPath.has(ref)) {
      throw tagCycleError([...stack.slice(stack.findIndex((f) => f.name === ref)).map((f) => f.name), ref]);
    }
    // Diamonds are common (a VM in several groups); visiting once keeps this linear.
    if (done.has(ref)) return;
    const tag = lookup(ref);
    if (!tag)
      throw notFound(
        parent ? `tag "${ref}" (a member of "${parent.name}") not found` : `tag "${ref}" not found`,
      );
    if (parent ? !tagUsableFrom(tag, parent.namespace) : !tagUsableFrom(tag, opts.from)) {
      if (parent) return;
      throw tagNotShared(tag, opts.from!);
    }
    if (tag.ip !== undefined) {
      addCidr(tag.ip, `tag ${ref} ip`);
      leaves.push(tag);
    }
    onPath.add(ref);
    stack.push({ name: ref, tag, members: tag.members, next: 0 });
  };

  enter(name, undefined);
  for (let top = stack.at(-1); top; top = stack.at(-1)) {
    const member = top.members[top.next++];
    if (member !== undefined) {
      enter(member, top.tag);
    } else {
      stack.pop();
      onPath.delete(top.name);
      done.add(top.name);
    }
  }
  return { cidrs: [...cidrs.values()].sort(compareCidrs).map(formatCidr), leaves };
}

/**
 * Would setting `name`'s members to `newMembers` make a tag contain itself?
 * Returns the cycle as a path starting and ending at `name`, or null.
 * Unknown members are skipped: they cannot lead back to `name`.
 */
export function findCycle(name: string, newMembers: readonly string[], lookup: TagLookup): string[] | null {
  const seen = new Set<string>([name]);
  const stack: Frame[] = [{ name, members: newMembers, next: 0 }];
  for (let top = stack.at(-1); top; top = stack.at(-1)) {
    const member = top.members[top.next++];
    if (member === undefined) {
      stack.pop();
    } else if (member === name) {
      return [...stack.map((f) => f.name), name];
    } else if (!isLiteral(member) && !seen.has(member)) {
      seen.add(member);
      stack.push({ name: member, members: lookup(member)?.members ?? [], next: 0 });
    }
  }
  return null;
}

/**
 * Every tag that directly or transitively contains one of `names`: the tags
 * whose resolution changes when those tags change. The input names appear
 * only when one of them contains another. Sorted.
 */
export function dependentsOf(names: readonly string[], allTags: Iterable<Tag>): string[] {
  const parents = new Map<string, string[]>();
  for (const t of allTags) {
    for (const m of t.members) {
      const list = parents.get(m);
      if (list) list.push(t.name);
      else parents.set(m, [t.name]);
    }
  }
  const found = new Set<string>();
  const queue = [...names];
  for (let i = 0; i < queue.length; i++) {
    for (const p of parents.get(queue[i]) ?? []) {
      if (found.has(p)) continue;
      found.add(p);
      queue.push(p);
    }
  }
  return [...found].sort();
}
