// Tags: leaf tags (one resource) and parent tags (members). The store is the
// truth; an in-memory copy makes resolution cheap for 10,000 tags. Any change
// of membership calls `onChange` with every tag whose resolution changed, so
// the rules that subscribe to them are re-resolved and re-applied.
//
// Ownership: a tag belongs to a namespace (a leaf to its resource's) or to
// none (global, admins only); its members and the rules that name it must be
// usable from that namespace: its own tags, global ones, or tags shared with
// it by their owner (`sharedWith`). Who may call what is the routes' concern.
import {
  dependentsOf,
  findCycle,
  invalidArgument,
  isIpOrCidr,
  notFound,
  parseCidr,
  type Resolution,
  resolveTag,
  SkywayError,
  type Tag,
  tagCycleError,
  tagNotShared,
  tagUsableFrom,
  validateNamespaceList,
  validateNamespaceName,
  validateTagName,
  validateTagRef,
} from '@skyway/core';
import type { Store } from '../store/store.js';
import type { EventBus } from './events.js';

export class TagService {
  private readonly tags = new Map<string, Tag>();
  /** Set by the composition root: re-applies the rules subscribed to these tags. */
  onChange: (changed: string[]) => Promise<void> = async () => {};

  constructor(
    private readonly store: Store,
    private readonly events: EventBus,
  ) {}

  async load(): Promise<void> {
    this.tags.clear();
    for (const t of await this.store.listTags()) this.tags.set(t.name, t);
  }

  readonly lookup = (name: string): Tag | undefined => this.tags.get(name);

  list(): Tag[] {
    return [...this.tags.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): Tag {
    const t = this.tags.get(name);
    if (!t) throw notFound(`tag "${name}" does not exist`);
    return t;
  }

  /** Resolves a tag; with `from`, for a rule of that namespace, which must be allowed to use it. */
  resolve(name: string, from?: string): Resolution {
    return resolveTag(name, this.lookup, from === undefined ? {} : { from });
  }

  /**
   * Replaces (or, with `append`, extends) a parent tag's members. A new tag belongs to
   * `namespace` (null: global); an existing one keeps its owner. `sharedWith`, when given,
   * replaces the namespaces the tag is shared with.
   */
  async setMembers(
    name: string,
    members: string[],
    opts: { append?: boolean; namespace?: string | null; sharedWith?: string[] } = {},
  ): Promise<Tag> {
    validateTagName(name, 'tag');
    const existing = this.tags.get(name);
    if (existing?.uri) {
      throw invalidArgument(`tag "${name}" is a resource's leaf tag and cannot have members`, 'tag');
    }
    const owner = existing ? existing.namespace : (opts.namespace ?? undefined);
    if (opts.namespace !== undefined && existing && (opts.namespace ?? undefined) !== owner) {
      throw invalidArgument(
        `tag "${name}" belongs to ${owner ? `namespace "${owner}"` : 'no namespace (global)'}; its owner cannot change`,
        'namespace',
      );
    }
    if (owner !== undefined) validateNamespaceName(owner, 'namespace');
    // `<namespace>.<cloud>.<resource>` is a leaf's name: another namespace may not take it first.
    const parts = name.split('.');
    if (!existing && owner !== undefined && parts.length === 3 && parts[0] !== owner) {
      throw invalidArgument(
        `tag "${name}" is named like a leaf tag of namespace "${parts[0]}"; a tag of "${owner}" cannot take that name`,
        'tag',
      );
    }
    const refs = members.map((m, i) => validateTagRef(m, `child_tags[${i}]`));
    refs.forEach((ref, i) => {
      if (isIpOrCidr(ref) || ref === name) return;
      const member = this.tags.get(ref);
      if (!member) {
        throw new SkywayError(
          'NOT_FOUND',
          `child_tags[${i}]: tag "${ref}" does not exist; create it first`,
          `child_tags[${i}]`,
        );
      }
      // Members kept from before are not checked again: a withdrawn share only drops out of resolution.
      if (!tagUsableFrom(member, owner) && !existing?.members.includes(ref))
        throw tagNotShared(member, owner!, `child_tags[${i}]`);
    });
    let sharedWith = existing?.sharedWith;
    if (opts.sharedWith !== undefined) {
      sharedWith = validateNamespaceList(opts.sharedWith, 'shared_with').filter((n) => n !== owner);
      if (owner === undefined && sharedWith.length > 0)
        throw invalidArgument(
          'a global tag is usable from every namespace; it takes no shared_with',
          'shared_with',
        );
    }
    const next = [...new Set([...(opts.append ? (existing?.members ?? []) : []), ...refs])];
    const cycle = findCycle(name, next, this.lookup);
    if (cycle) throw tagCycleError(cycle, 'child_tags');
    const tag: Tag = {
      name,
      members: next,
      ...(owner === undefined ? {} : { namespace: owner }),
      ...(sharedWith?.length ? { sharedWith } : {}),
    };
    await this.store.transaction(async (tx) => {
      await tx.putTag(tag);
      await this.events.publish(
        'tag.updated',
        name,
        { members: next, namespace: owner ?? null, shared_with: sharedWith ?? [] },
        tx,
      );
    });
    this.tags.set(name, tag);
    await this.onChange(this.affectedBy([name]));
    return tag;
  }

  /**
   * Creates or replaces a leaf tag that stands for an address and/or a URI
   * (Paraglider's `tag set --ip/--uri`). A new tag belongs to `namespace`
   * (null: global); an existing one keeps its owner. A resource's own leaf tag
   * and a tag with members are refused.
   */
  async setLeaf(
    name: string,
    leaf: { uri?: string; ip?: string },
    opts: { namespace?: string | null } = {},
  ): Promise<Tag> {
    validateTagName(name, 'tag');
    if (!leaf.uri && !leaf.ip) throw invalidArgument('a leaf tag needs an ip or a uri', 'ip');
    if (leaf.ip) parseCidr(leaf.ip, 'ip');
    const existing = this.tags.get(name);
    if (existing && existing.members.length > 0) {
      throw invalidArgument(`tag "${name}" has members; a tag has members or an ip/uri, not both`, 'tag');
    }
    const owner = existing ? existing.namespace : (opts.namespace ?? undefined);
    if (opts.namespace !== undefined && existing && (opts.namespace ?? undefined) !== owner) {
      throw invalidArgument(
        `tag "${name}" belongs to ${owner ? `namespace "${owner}"` : 'no namespace (global)'}; its owner cannot change`,
        'namespace',
      );
    }
    const parts = name.split('.');
    const [ns, cloud, resource] = parts;
    if (parts.length === 3 && (await this.store.resources.get(ns!, cloud!, resource!))) {
      throw invalidArgument(`tag "${name}" is the leaf tag of a resource and follows the resource`, 'tag');
    }
    if (owner !== undefined) validateNamespaceName(owner, 'namespace');
    if (!existing && owner !== undefined && parts.length === 3 && ns !== owner) {
      throw invalidArgument(
        `tag "${name}" is named like a leaf tag of namespace "${ns}"; a tag of "${owner}" cannot take that name`,
        'tag',
      );
    }
    const tag: Tag = {
      name,
      members: [],
      ...(leaf.uri ? { uri: leaf.uri } : {}),
      ...(leaf.ip ? { ip: leaf.ip } : {}),
      ...(owner === undefined ? {} : { namespace: owner }),
      ...(existing?.sharedWith?.length ? { sharedWith: existing.sharedWith } : {}),
    };
    await this.store.transaction(async (tx) => {
      await tx.putTag(tag);
      await this.events.publish(
        'tag.updated',
        name,
        { uri: tag.uri, ip: tag.ip, namespace: owner ?? null },
        tx,
      );
    });
    this.tags.set(name, tag);
    await this.onChange(this.affectedBy([name]));
    return tag;
  }

  /**
   * Creates or updates the leaf tag of a resource, inside the caller's transaction. It belongs
   * to the resource's namespace (the first part of `<namespace>.<cloud>.<name>`, unless given).
   */
  async putLeaf(tx: Store, tag: Tag & { uri: string; ip: string }): Promise<void> {
    const leaf: Tag = {
      name: tag.name,
      uri: tag.uri,
      ip: tag.ip,
      members: [],
      namespace: tag.namespace ?? tag.name.split('.')[0]!,
    };
    await tx.putTag(leaf);
    this.tags.set(tag.name, leaf);
  }

  async removeMember(name: string, member: string): Promise<Tag> {
    const tag = this.get(name);
    if (!tag.members.includes(member)) throw notFound(`"${member}" is not a member of tag "${name}"`);
    return this.setMembers(
      name,
      tag.members.filter((m) => m !== member),
    );
  }

  /** Deletes a tag and removes it from every parent. */
  async delete(name: string): Promise<void> {
    this.get(name);
    const parents = this.list().filter((t) => t.members.includes(name));
    const affected = this.affectedBy([name]);
    await this.store.transaction(async (tx) => {
      await tx.deleteTag(name);
      for (const p of parents) await tx.putTag({ ...p, members: p.members.filter((m) => m !== name) });
      await this.events.publish(
        'tag.deleted',
        name,
        { namespace: this.tags.get(name)?.namespace ?? null },
        tx,
      );
    });
    this.tags.delete(name);
    for (const p of parents) this.tags.set(p.name, { ...p, members: p.members.filter((m) => m !== name) });
    await this.onChange(affected);
  }

  /** The tags whose resolution depends on any of `names` (including themselves). */
  affectedBy(names: string[]): string[] {
    return [...new Set([...names, ...dependentsOf(names, this.tags.values())])];
  }
}
