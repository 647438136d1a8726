// Tags: leaf tags (one resource) and parent tags (members). The store is the
// truth; an in-memory copy makes resolution cheap for 10,000 tags. Any change
// of membership calls `onChange` with every tag whose resolution changed, so
// the rules that subscribe to them are re-resolved and re-applied.
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

  resolve(name: string): Resolution {
    return resolveTag(name, this.lookup);
  }

  /** Replaces (or, with `append`, extends) a parent tag's members. */
  async setMembers(name: string, members: string[], opts: { append?: boolean } = {}): Promise<Tag> {
    validateTagName(name, 'tag');
    const refs = members.map((m, i) => validateTagRef(m, `child_tags[${i}]`));
    refs.forEach((ref, i) => {
      if (!isIpOrCidr(ref) && ref !== name && !this.tags.has(ref)) {
        throw new SkywayError(
          'NOT_FOUND',
          `child_tags[${i}]: tag "${ref}" does not exist; create it first`,
          `child_tags[${i}]`,
        );
      }
    });
    const existing = this.tags.get(name);
    if (existing?.uri) {
      throw invalidArgument(`tag "${name}" is a resource's leaf tag and cannot have members`, 'tag');
    }
    const next = [...new Set([...(opts.append ? (existing?.members ?? []) : []), ...refs])];
    const cycle = findCycle(name, next, this.lookup);
    if (cycle) throw tagCycleError(cycle, 'child_tags');
    const tag: Tag = { name, members: next };
    await this.store.transaction(async (tx) => {
      await tx.putTag(tag);
      await this.events.publish('tag.updated', name, { members: next }, tx);
    });
    this.tags.set(name, tag);
    await this.onChange(this.affectedBy([name]));
    return tag;
  }

  /**
   * Creates or replaces a leaf tag that stands for an address and/or a URI
   * (Paraglider's `tag set --ip/--uri`). A resource's own leaf tag and a tag
   * with members are refused.
   */
  async setLeaf(name: string, leaf: { uri?: string; ip?: string }): Promise<Tag> {
    validateTagName(name, 'tag');
    if (!leaf.uri && !leaf.ip) throw invalidArgument('a leaf tag needs an ip or a uri', 'ip');
    if (leaf.ip) parseCidr(leaf.ip, 'ip');
    const existing = this.tags.get(name);
    if (existing && existing.members.length > 0) {
      throw invalidArgument(`tag "${name}" has members; a tag has members or an ip/uri, not both`, 'tag');
    }
    const [ns, cloud, resource, ...rest] = name.split('.');
    if (rest.length === 0 && ns && cloud && resource && (await this.store.getResource(ns, cloud, resource))) {
      throw invalidArgument(`tag "${name}" is the leaf tag of a resource and follows the resource`, 'tag');
    }
    const tag: Tag = {
      name,
      members: [],
      ...(leaf.uri ? { uri: leaf.uri } : {}),
      ...(leaf.ip ? { ip: leaf.ip } : {}),
    };
    await this.store.transaction(async (tx) => {
      await tx.putTag(tag);
      await this.events.publish('tag.updated', name, { uri: tag.uri, ip: tag.ip }, tx);
    });
    this.tags.set(name, tag);
    await this.onChange(this.affectedBy([name]));
    return tag;
  }

  /** Creates or updates the leaf tag of a resource, inside the caller's transaction. */
  async putLeaf(tx: Store, tag: Tag & { uri: string; ip: string }): Promise<void> {
    await tx.putTag({ ...tag, members: [] });
    this.tags.set(tag.name, { ...tag, members: [] });
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
      await this.events.publish('tag.deleted', name, {}, tx);
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
