// Paraglider's routes (orchestrator v0.1.0), answered by Skyway's services:
// exactly 200 on success (creates too), bare arrays, proto JSON names.
// Writes wait for their outcome, up to the configured time, because glide
// takes the answer as the outcome.
import { invalidArgument, type Tag, unavailable } from '@skyway/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from '../../auth/tokens.js';
import { authorize, callerOf, type NamespaceResolver } from '../access.js';
import { requireRole, visibleNamespaces } from '../auth.js';
import type { Services } from '../context.js';
import { canSeeTag, ownerOfNewTag, tagAccess } from '../tag-access.js';
import { namesIn, resourceIn, ruleIn, ruleOut, rulesIn, tagMappingIn, tagOut } from './wire.js';

type Params = Record<string, string>;
type Req = FastifyRequest<{ Params: Params }>;

export interface RouteOptions {
  services: Services;
  waitMs: number;
}

/** Paraglider answers a write with 200 and an empty body (gin writes nothing). */
const done = (reply: FastifyReply) => reply.code(200).send();

export async function paragliderRoutes(app: FastifyInstance, { services, waitMs }: RouteOptions) {
  const { plugins, resources, rules, tags } = services;

  /** The service's answer, or Unavailable when it takes longer than glide is told to wait. */
  const within = async <T>(what: string, p: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            unavailable(
              `${what} is still in progress after ${waitMs / 1000} s; it goes on (see "skyway events")`,
            ),
          ),
        waitMs,
      );
    });
    try {
      return await Promise.race([p, late]);
    } finally {
      clearTimeout(timer);
    }
  };

  // The same checks as the /api/v1 tag routes declare: a tag's owner decides (see tag-access.ts).
  const { read, change, upsert } = tagAccess(tags);
  const check = async (req: FastifyRequest, role: Role, namespaces: NamespaceResolver) => {
    const caller = callerOf(req);
    authorize(caller, role, await namespaces(req, caller));
  };

  const key = (p: Params) => ({ namespace: p.namespace!, cloud: p.cloud!, resource: p.resourceName! });
  const base = '/namespaces/:namespace/clouds/:cloud/resources/:resourceName';

  app.get('/ping', async () => ({ message: 'pong' }));

  // Paraglider's config.Namespaces: namespace -> [{name, deployment}].
  app.get('/namespaces', async (req) => {
    requireRole(req, 'viewer');
    const visible = visibleNamespaces(req);
    const out: Record<string, Array<{ name: string; deployment: string }>> = {};
    for (const ns of plugins.namespaces()) {
      if (visible && !visible.includes(ns)) continue;
      out[ns] = plugins.cloudsOf(ns).map((c) => ({ name: c.cloud, deployment: c.deployment }));
    }
    return out;
  });

  // ---- resources ----
  const createOrAttach = async (req: Req, nameFromPath?: string) => {
    const { namespace, cloud } = req.params as { namespace: string; cloud: string };
    requireRole(req, 'operator', namespace);
    const body = resourceIn(req.body);
    if (body.id !== undefined) {
      if (nameFromPath !== undefined)
        throw invalidArgument(
          'only POST .../resources attaches a resource (a body with an id); PUT creates one',
          'id',
        );
      const r = await within('attaching the resource', resources.attach(namespace, cloud, body.id));
      return { name: r.tag, uri: r.uri, ip: r.ip };
    }
    const name = nameFromPath ?? body.name ?? '';
    const r = await within(
      'creating the resource',
      resources.create(namespace, cloud, name, body.description),
    );
    return { name: r.tag, uri: r.uri, ip: r.ip };
  };
  app.post('/namespaces/:namespace/clouds/:cloud/resources', (req: Req) => createOrAttach(req));
  app.put(base, (req: Req) => createOrAttach(req, req.params.resourceName));

  // ---- permit lists ----
  app.get(`${base}/rules`, async (req: Req) => {
    requireRole(req, 'viewer', req.params.namespace);
    return (await rules.get(key(req.params))).map(ruleOut);
  });
  app.post(`${base}/applyRules`, async (req: Req, reply) => {
    requireRole(req, 'operator', req.params.namespace);
    await within('applying the rules', rules.apply(key(req.params), rulesIn(req.body)));
    return done(reply);
  });
  app.post(`${base}/rules`, async (req: Req, reply) => {
    requireRole(req, 'operator', req.params.namespace);
    await within('applying the rule', rules.apply(key(req.params), [ruleIn(req.body, 'rule')], 'rule'));
    return done(reply);
  });
  app.put(`${base}/rules/:ruleName`, async (req: Req, reply) => {
    requireRole(req, 'operator', req.params.namespace);
    // As Paraglider: the path names the rule; a name in the body is overwritten.
    const rule = { ...ruleIn(req.body, 'rule'), name: req.params.ruleName! };
    await within('applying the rule', rules.apply(key(req.params), [rule], 'rule'));
    return done(reply);
  });
  app.post(`${base}/deleteRules`, async (req: Req, reply) => {
    requireRole(req, 'operator', req.params.namespace);
    await within('deleting the rules', rules.delete(key(req.params), namesIn(req.body)));
    return done(reply);
  });
  app.delete(`${base}/rules/:ruleName`, async (req: Req, reply) => {
    requireRole(req, 'operator', req.params.namespace);
    await within('deleting the rule', rules.delete(key(req.params), [req.params.ruleName!]));
    return done(reply);
  });

  // ---- rules on every resource of a tag ----
  const membersOf = async (tag: string) => {
    const byUri = new Map((await resources.list()).map((r) => [r.uri, r]));
    return tags.resolve(tag).leaves.flatMap((l) => (l.uri && byUri.has(l.uri) ? [byUri.get(l.uri)!] : []));
  };
  const memberNamespaces: NamespaceResolver = async (req, caller) => [
    ...(await read(req, caller)),
    ...new Set((await membersOf((req.params as Params).tag!)).map((m) => m.namespace)),
  ];
  app.post('/tags/:tag/rules', async (req: Req, reply) => {
    const inputs = rulesIn(req.body);
    await check(req, 'operator', memberNamespaces);
    const members = await membersOf(req.params.tag!);
    await within(
      'applying the rules',
      (async () => {
        for (const m of members)
          await rules.apply({ namespace: m.namespace, cloud: m.cloud, resource: m.name }, inputs);
      })(),
    );
    return done(reply);
  });
  app.delete('/tags/:tag/rules', async (req: Req, reply) => {
    const names = namesIn(req.body);
    await check(req, 'operator', memberNamespaces);
    const members = await membersOf(req.params.tag!);
    await within(
      'deleting the rules',
      (async () => {
        for (const m of members)
          await rules.delete({ namespace: m.namespace, cloud: m.cloud, resource: m.name }, names);
      })(),
    );
    return done(reply);
  });

  // ---- tags ----
  app.get('/tags', async (req) => {
    requireRole(req, 'viewer');
    const caller = callerOf(req);
    return tags
      .list()
      .filter((t) => canSeeTag(caller, t))
      .map(tagOut);
  });
  app.get('/tags/:tag', async (req: Req) => {
    await check(req, 'viewer', read);
    return tagOut(tags.get(req.params.tag!));
  });
  // Every leaf below the tag (IP and URI tags, and IP/CIDR members as IP mappings), as Paraglider's ResolveTag.
  app.post('/tags/:tag/resolveMembers', async (req: Req) => {
    await check(req, 'viewer', read);
    const name = req.params.tag!;
    tags.resolve(name); // unknown tags and cycles fail here, with the services' errors
    return leavesOf(name, tags.lookup).map(tagOut);
  });
  app.post('/tags/:tag/applyMembers', async (req: Req, reply) => {
    const m = tagMappingIn(req.body, req.params.tag!);
    await check(req, 'operator', upsert);
    // A new tag belongs to the listener's namespace when it has exactly one (else it is global).
    const namespace = ownerOfNewTag(req, callerOf(req)) ?? null;
    await within(
      'setting the tag',
      m.childTags.length > 0
        ? tags.setMembers(m.name, m.childTags, { append: true, namespace })
        : tags.setLeaf(m.name, { uri: m.uri, ip: m.ip }, { namespace }),
    );
    return reply.code(200).send({});
  });
  app.delete('/tags/:tag', async (req: Req, reply) => {
    await check(req, 'operator', change);
    await within('deleting the tag', tags.delete(req.params.tag!));
    return reply.code(200).send({});
  });
  app.delete('/tags/:tag/members/:member', async (req: Req, reply) => {
    await check(req, 'operator', change);
    await within('removing the member', tags.removeMember(req.params.tag!, req.params.member!));
    return reply.code(200).send({});
  });
}

/** Leaves reachable from `name`: tags with a uri or an ip, and literal members as {name, ip}. */
function leavesOf(name: string, lookup: (n: string) => Tag | undefined): Tag[] {
  const out: Tag[] = [];
  const seen = new Set<string>();
  const stack = [name];
  while (stack.length > 0) {
    const ref = stack.pop()!;
    if (seen.has(ref)) continue;
    seen.add(ref);
    const t = lookup(ref);
    if (!t) {
      // Only literals are missing here: tags.resolve() has checked that every tag exists.
      out.push({ name: ref, ip: ref, members: [] });
      continue;
    }
    if (t.uri !== undefined || t.ip !== undefined) out.push(t);
    stack.push(...[...t.members].reverse());
  }
  return out;
}
