// Resources and their permit lists, at Paraglider's paths under /api/v1 (with
// Skyway's conventions; Paraglider's own wire format is http/paraglider).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import { invalidArgument } from '@skyway/core';
import { resourceView } from '../../services/resources.js';
import { ruleView } from '../../services/rules.js';
import { allow } from '../access.js';
import type { Services } from '../context.js';
import {
  CloudParams,
  NameList,
  ResourceBody,
  ResourceParams,
  RuleBody,
  RuleList,
  RuleParams,
} from '../schemas.js';

export const resourceRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (
  app,
  { services },
) => {
  const { resources, rules } = services;
  const key = (p: { namespace: string; cloud: string; resourceName: string }) => ({
    namespace: p.namespace,
    cloud: p.cloud,
    resource: p.resourceName,
  });
  const base = '/namespaces/:namespace/clouds/:cloud/resources/:resourceName';
  const tags = { tags: ['resources'] };

  const create = async (namespace: string, cloud: string, name: string, description: unknown) => {
    const r = await resources.create(namespace, cloud, name, description);
    return { name: r.name, uri: r.uri, ip: r.ip, tag: r.tag };
  };

  app.post(
    '/namespaces/:namespace/clouds/:cloud/resources',
    {
      config: allow('operator', 'params.namespace'),
      schema: { ...tags, params: CloudParams, body: ResourceBody },
    },
    async (req, reply) => {
      if (!req.body.name) throw invalidArgument('name is required', 'name');
      reply.status(201);
      return create(req.params.namespace, req.params.cloud, req.body.name, req.body.description);
    },
  );

  app.put(
    base,
    {
      config: allow('operator', 'params.namespace'),
      schema: { ...tags, params: ResourceParams, body: ResourceBody },
    },
    async (req, reply) => {
      if (req.body.name && req.body.name !== req.params.resourceName) {
        throw invalidArgument(
          `name "${req.body.name}" does not match the path's "${req.params.resourceName}"`,
          'name',
        );
      }
      reply.status(201);
      return create(req.params.namespace, req.params.cloud, req.params.resourceName, req.body.description);
    },
  );

  app.get(
    base,
    { config: allow('viewer', 'params.namespace'), schema: { ...tags, params: ResourceParams } },
    async (req) => {
      const r = await resources.require(req.params.namespace, req.params.cloud, req.params.resourceName);
      return resourceView(r);
    },
  );

  app.delete(
    base,
    { config: allow('operator', 'params.namespace'), schema: { ...tags, params: ResourceParams } },
    async (req) => {
      await resources.delete(req.params.namespace, req.params.cloud, req.params.resourceName);
      return {};
    },
  );

  app.get(
    `${base}/rules`,
    { config: allow('viewer', 'params.namespace'), schema: { ...tags, params: ResourceParams } },
    async (req) => {
      return { rules: (await rules.get(key(req.params))).map(ruleView) };
    },
  );

  app.post(
    `${base}/applyRules`,
    {
      config: allow('operator', 'params.namespace'),
      schema: { ...tags, params: ResourceParams, body: RuleList },
    },
    async (req) => {
      return { rules: (await rules.apply(key(req.params), req.body)).map(ruleView) };
    },
  );

  app.post(
    `${base}/rules`,
    {
      config: allow('operator', 'params.namespace'),
      schema: { ...tags, params: ResourceParams, body: RuleBody },
    },
    async (req) => {
      const [rule] = await rules.apply(key(req.params), [req.body], 'rule');
      return ruleView(rule!);
    },
  );

  app.put(
    `${base}/rules/:ruleName`,
    {
      config: allow('operator', 'params.namespace'),
      schema: { ...tags, params: RuleParams, body: RuleBody },
    },
    async (req) => {
      if (req.body.name !== req.params.ruleName) {
        throw invalidArgument(
          `name "${req.body.name}" does not match the path's "${req.params.ruleName}"`,
          'name',
        );
      }
      const [rule] = await rules.apply(key(req.params), [req.body], 'rule');
      return ruleView(rule!);
    },
  );

  app.post(
    `${base}/deleteRules`,
    {
      config: allow('operator', 'params.namespace'),
      schema: { ...tags, params: ResourceParams, body: NameList },
    },
    async (req) => {
      await rules.delete(key(req.params), req.body);
      return {};
    },
  );

  app.delete(
    `${base}/rules/:ruleName`,
    { config: allow('operator', 'params.namespace'), schema: { ...tags, params: RuleParams } },
    async (req) => {
      await rules.delete(key(req.params), [req.params.ruleName]);
      return {};
    },
  );

  app.get(
    '/namespaces/:namespace/resources',
    {
      config: allow('viewer', 'params.namespace'),
      schema: {
        ...tags,
        params: Type.Object({ namespace: Type.String() }),
        querystring: Type.Object({ cloud: Type.Optional(Type.String()) }),
      },
    },
    async (req) => {
      const rows = await resources.list({ namespace: req.params.namespace, cloud: req.query.cloud });
      return {
        resources: rows.map(resourceView),
      };
    },
  );
};
