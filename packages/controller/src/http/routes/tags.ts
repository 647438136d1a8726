// Tags at Paraglider's paths: list, get, set members, resolve, delete, and
// rules applied to every resource a tag stands for. Each tag belongs to a
// namespace (or none: global); see tag-access.ts for who may do what.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@fastify/type-provider-typebox';
import { invalidArgument, type Tag } from '@skyway/core';
import type { FastifyRequest } from 'fastify';
import { ruleView } from '../../services/rules.js';
import { allow, callerOf, type NamespaceResolver } from '../access.js';
import type { Services } from '../context.js';
import { NameList, RuleList, TagMembersBody, TagParams } from '../schemas.js';
import { canSeeTag, ownerOfNewTag, tagAccess } from '../tag-access.js';

const tagView = (t: Tag) => ({
  tag_name: t.name,
  uri: t.uri,
  ip: t.ip,
  child_tags: t.members,
  namespace: t.namespace ?? null,
  shared_with: t.sharedWith ?? [],
});

export const tagRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { tags, resources, rules } = services;
  const schema = { tags: ['tags'], params: TagParams };
  const { read, change, upsert } = tagAccess(tags);

  app.get(
    '/tags',
    {
      config: allow('viewer', 'filter'),
      schema: {
        tags: ['tags'],
        description: "The tags the caller's namespaces own, global ones and those shared with them.",
      },
    },
    async (req) => {
      const caller = callerOf(req);
      return {
        tags: tags
          .list()
          .filter((t) => canSeeTag(caller, t))
          .map(tagView),
      };
    },
  );

  app.get('/tags/:tag', { config: allow('viewer', read), schema }, async (req) => {
    return tagView(tags.get(req.params.tag));
  });

  app.post('/tags/:tag/resolveMembers', { config: allow('viewer', read), schema }, async (req) => {
    const r = tags.resolve(req.params.tag);
    return { tag_name: req.params.tag, ips: r.cidrs, leaves: r.leaves.map(tagView) };
  });

  const setMembers =
    (append: boolean) =>
    async (req: FastifyRequest<{ Params: { tag: string }; Body: Static<typeof TagMembersBody> }>) => {
      const { body, params } = req;
      if (body.tag_name && body.tag_name !== params.tag) {
        throw invalidArgument(
          `tag_name "${body.tag_name}" does not match the path's "${params.tag}"`,
          'tag_name',
        );
      }
      return tagView(
        await tags.setMembers(params.tag, body.child_tags, {
          append,
          namespace: ownerOfNewTag(req, callerOf(req)) ?? null,
          ...(body.shared_with === undefined ? {} : { sharedWith: body.shared_with }),
        }),
      );
    };
  app.post(
    '/tags/:tag/applyMembers',
    { config: allow('operator', upsert), schema: { ...schema, body: TagMembersBody } },
    setMembers(true),
  );
  app.put(
    '/tags/:tag',
    { config: allow('operator', upsert), schema: { ...schema, body: TagMembersBody } },
    setMembers(false),
  );

  app.delete('/tags/:tag', { config: allow('operator', change), schema }, async (req) => {
    await tags.delete(req.params.tag);
    return {};
  });

  app.delete(
    '/tags/:tag/members/:member',
    {
      config: allow('operator', change),
      schema: { tags: ['tags'], params: Type.Object({ tag: Type.String(), member: Type.String() }) },
    },
    async (req) => {
      return tagView(await tags.removeMember(req.params.tag, req.params.member));
    },
  );

  /** The resources a tag stands for (its leaves that are resources). */
  const membersOf = async (tag: string) => {
    const leaves = tags.resolve(tag).leaves;
    const all = await resources.list();
    const byUri = new Map(all.map((r) => [r.uri, r]));
    return leaves.flatMap((l) => (l.uri && byUri.has(l.uri) ? [byUri.get(l.uri)!] : []));
  };

  /** The namespaces of the resources a tag stands for: a rule on the tag changes each of them. */
  const memberNamespaces: NamespaceResolver = async (req, caller) => [
    ...(await read(req, caller)),
    ...new Set((await membersOf((req.params as { tag: string }).tag)).map((m) => m.namespace)),
  ];

  app.post(
    '/tags/:tag/rules',
    { config: allow('operator', memberNamespaces), schema: { ...schema, body: RuleList } },
    async (req) => {
      const members = await membersOf(req.params.tag);
      const applied = [];
      for (const m of members) {
        const out = await rules.apply({ namespace: m.namespace, cloud: m.cloud, resource: m.name }, req.body);
        applied.push({ namespace: m.namespace, cloud: m.cloud, resource: m.name, rules: out.map(ruleView) });
      }
      return { applied };
    },
  );

  app.delete(
    '/tags/:tag/rules',
    { config: allow('operator', memberNamespaces), schema: { ...schema, body: NameList } },
    async (req) => {
      const members = await membersOf(req.params.tag);
      for (const m of members)
        await rules.delete({ namespace: m.namespace, cloud: m.cloud, resource: m.name }, req.body);
      return { resources: members.map((m) => `${m.namespace}/${m.cloud}/${m.name}`) };
    },
  );
};
