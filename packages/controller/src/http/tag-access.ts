// Who may see and change a tag, for the tag routes' access declarations:
// the namespace a tag route touches is the tag's owner (or, for a tag about to
// be made, the namespace it will belong to).
import { type Tag, tagUsableFrom } from '@skyway/core';
import type { FastifyRequest } from 'fastify';
import type { TagService } from '../services/tags.js';
import { type Caller, GLOBAL, type NamespaceResolver } from './access.js';

/** May the caller see `tag`? Its own namespaces' tags, global ones and those shared with them. */
export const canSeeTag = (caller: Caller, tag: Tag) =>
  caller.all || tag.namespace === undefined || caller.namespaces.some((ns) => tagUsableFrom(tag, ns));

/**
 * The namespace a tag made by this request belongs to: the body's `namespace`, else the
 * caller's only namespace; undefined (global) for a caller scoped to several or all.
 */
export function ownerOfNewTag(req: FastifyRequest, caller: Caller): string | undefined {
  const named = (req.body as { namespace?: unknown } | undefined)?.namespace;
  if (typeof named === 'string') return named;
  return !caller.all && caller.namespaces.length === 1 ? caller.namespaces[0] : undefined;
}

export function tagAccess(tags: TagService) {
  const tagOf = (req: FastifyRequest) => tags.lookup((req.params as { tag: string }).tag);
  /** Reading a tag: allowed where it is visible (a missing tag is the handler's 404). */
  const read: NamespaceResolver = (req, caller) => {
    const tag = tagOf(req);
    return !tag || canSeeTag(caller, tag) ? [] : [tag.namespace!];
  };
  /** Changing or deleting an existing tag: its owner's (global: admins'). */
  const change: NamespaceResolver = (req) => {
    const tag = tagOf(req);
    return tag ? [tag.namespace ?? GLOBAL] : [];
  };
  /** Setting a tag's members, which makes it when it does not exist. */
  const upsert: NamespaceResolver = (req, caller) => {
    const tag = tagOf(req);
    return [(tag ? tag.namespace : ownerOfNewTag(req, caller)) ?? GLOBAL];
  };
  return { read, change, upsert };
}
