// Tags at Paraglider's paths: list, get, set members, resolve, delete, and
// rules applied to every resource a tag stands for.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import { invalidArgument } from '@skyway/core';
import { ruleView } from '../../services/rules.js';
import { allow, type NamespaceResolver } from '../access.js';
import type { Services } from '../context.js';
import { NameList, RuleList, TagMembersBody, TagParams } from '../schemas.js';

const tagView = (t: { name: string; uri?: string; ip?: string; members: string[] }) => ({
  tag_name: t.name,
  uri: t.uri,
  ip: t.ip,
  child_tags: t.members,
});

export const tagRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { tags, resources, rules } = services;
  const schema = { tags: ['tags'], params: TagParams };

  app.get('/tags', { config: allow('viewer', 'none'), schema: { tags: ['tags'] } }, async () => {
    return { tags: tags.list().map(tagView) };
  });

  app.get('/tags/:tag', { config: allow('viewer', 'none'), schema }, async (req) => {
    return tagView(tags.get(req.params.tag));
  });

  app.post('/tags/:tag/resolveMembers', { config: allow('viewer', 'none'), schema }, async (req) => {
    const r = tags.resolve(req.params.tag);
    return { tag_name: req.params.tag, ips: r.cidrs, leaves: r.leaves.map(tagView) };
  });

  const setMembers =
    (append: boolean) =>
    async (req: { params: { tag: string }; body: { tag_name?: string; child_tags: string[] } }) => {
      if (req.body.tag_name && req.body.tag_name !== req.params.tag) {
        throw invalidArgument(
          `tag_name "${req.body.tag_name}" does not match the path's "${req.params.tag}"`,
          'tag_name',
        );
      }
      return tagView(await tags.setMembers(req.params.tag, req.body.child_tags, { append }));
    };
  app.post(
    '/tags/:tag/applyMembers',
    { config: allow('operator', 'none'), schema: { ...schema, body: TagMembersBody } },
    setMembers(true),
  );
  app.put(
    '/tags/:tag',
    { config: allow('operator', 'none'), schema: { ...schema, body: TagMembersBody } },
    setMembers(false),
  );

  app.delete('/tags/:tag', { config: allow('operator', 'none'), schema }, async (req) => {
    await tags.delete(req.params.tag);
    return {};
  });

  app.delete(
    '/tags/:tag/members/:member',
    {
      config: allow('operator', 'none'),
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
  const memberNamespaces: NamespaceResolver = async (req) => [
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
