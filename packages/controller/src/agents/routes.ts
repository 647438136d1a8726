// The control API of the tunnel, under /api/v1: connected agents with their
// services and statistics, enrollment bundles, kubectl components, service
// credentials, control credentials, the CA certificate, and revocation.
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { notFound } from '@skyway/core';
import type { AgentConnection, TunnelEndpoint } from '@skyway/tunnel';
import type { FastifyInstance } from 'fastify';
import type { Revocations } from '../auth/revocations.js';
import type { TokenService } from '../auth/tokens.js';
import type { CertificateAuthority } from '../ca/ca.js';
import type { CredentialRegistry } from '../ca/store.js';
import { allow } from '../http/access.js';
import { requireRole } from '../http/auth.js';
import {
  issueControlCredentials,
  issueEnrollmentBundle,
  issueKubeconfig,
  issueServiceCredentials,
} from './issue.js';

export interface AgentRoutesOptions {
  endpoint: Pick<TunnelEndpoint, 'agents' | 'urls'>;
  ca: CertificateAuthority;
  tokens: TokenService;
  /** What was issued (listed by /ca/issued). */
  registry: CredentialRegistry;
  /** The one revocation list (/ca/revocations revokes any credential kind). */
  revocations: Pick<Revocations, 'revoke'>;
}

const closed = { additionalProperties: false } as const;
const Ttl = Type.Optional(Type.String({ description: 'Lifetime such as 90s, 30m, 12h or 30d' }));
const AgentParams = Type.Object({ name: Type.String() }, closed);

async function connectionView(c: AgentConnection, withAgentStats: boolean) {
  let agentStats: unknown;
  if (withAgentStats) agentStats = await c.fetchStats(2_000).catch((e) => ({ error: (e as Error).message }));
  return {
    id: c.id,
    remote: c.remote,
    connectedAt: c.connectedAt.toISOString(),
    version: c.hello.version,
    hostname: c.hello.hostname,
    certificateExpires: c.hello.certificateExpires,
    requests: c.stats.requests,
    errors: c.stats.errors,
    active: c.stats.active,
    ...(agentStats ? { agentStats } : {}),
  };
}

async function agentView(name: string, conns: AgentConnection[], withAgentStats: boolean) {
  const services = new Map<string, { name: string; type: string; annotations: Record<string, string> }>();
  const annotations: Record<string, string> = {};
  const versions = new Set<string>();
  for (const c of conns) {
    Object.assign(annotations, c.hello.annotations);
    versions.add(c.hello.version);
    for (const s of c.hello.services) services.set(`${s.type}/${s.name}`, s);
  }
  return {
    name,
    connections: conns.length,
    versions: [...versions],
    annotations,
    services: [...services.values()],
    requests: conns.reduce((n, c) => n + c.stats.requests, 0),
    errors: conns.reduce((n, c) => n + c.stats.errors, 0),
    active: conns.reduce((n, c) => n + c.stats.active, 0),
    sessions: await Promise.all(conns.map((c) => connectionView(c, withAgentStats))),
  };
}

export const agentRoutes: FastifyPluginAsyncTypebox<AgentRoutesOptions> = async (app, opts) => {
  const { endpoint } = opts;
  const deps = () => ({ ca: opts.ca, tokens: opts.tokens, registry: opts.registry, urls: endpoint.urls });
  const tags = ['agents'];

  app.get(
    '/agents',
    {
      config: allow('viewer', 'none'),
      schema: { tags, querystring: Type.Object({ stats: Type.Optional(Type.Boolean()) }) },
    },
    async (req) => {
      requireRole(req, 'viewer');
      const agents = endpoint.agents;
      return {
        agents: await Promise.all(
          agents.names().map((n) => agentView(n, agents.connections(n), req.query.stats === true)),
        ),
      };
    },
  );

  app.get(
    '/agents/:name',
    { config: allow('viewer', 'none'), schema: { tags, params: AgentParams } },
    async (req) => {
      requireRole(req, 'viewer');
      const conns = endpoint.agents.connections(req.params.name);
      if (conns.length === 0) throw notFound(`agent "${req.params.name}" is not connected`);
      return agentView(req.params.name, conns, true);
    },
  );

  app.post(
    '/agents/:name/enrollment-bundle',
    {
      config: allow('admin', 'all'),
      schema: { tags, params: AgentParams, body: Type.Object({ ttl: Ttl }, closed) },
    },
    async (req) => {
      requireRole(req, 'admin');
      return (await issueEnrollmentBundle(deps(), req.params.name, req.body.ttl)).bundle;
    },
  );

  app.post(
    '/agents/:name/kubeconfig',
    {
      config: allow('operator', 'none'),
      schema: {
        tags,
        params: AgentParams,
        body: Type.Object({ service: Type.Optional(Type.String()), ttl: Ttl }, closed),
      },
    },
    async (req) => {
      requireRole(req, 'operator');
      let service = req.body.service;
      if (!service) {
        const kube = endpoint.agents
          .connections(req.params.name)
          .flatMap((c) => c.hello.services)
          .filter((s) => s.type === 'kubernetes');
        if (kube.length !== 1)
          throw notFound(
            kube.length === 0
              ? `agent "${req.params.name}" reports no kubernetes service; name one with "service"`
              : `agent "${req.params.name}" has several kubernetes services; name one with "service"`,
          );
        service = kube[0]!.name;
      }
      return issueKubeconfig(deps(), req.params.name, service, req.body.ttl);
    },
  );

  app.post(
    '/agents/:name/service-credentials',
    {
      config: allow('operator', 'none'),
      schema: {
        tags,
        params: AgentParams,
        body: Type.Object(
          {
            serviceType: Type.String(),
            serviceName: Type.String(),
            kind: Type.Optional(Type.Union([Type.Literal('token'), Type.Literal('certificate')])),
            ttl: Ttl,
          },
          closed,
        ),
      },
    },
    async (req) => {
      requireRole(req, 'operator');
      return issueServiceCredentials(deps(), { agent: req.params.name, ...req.body });
    },
  );

  app.get('/ca', { config: allow('viewer', 'none'), schema: { tags: ['ca'] } }, async (req) => {
    requireRole(req, 'viewer');
    return {
      certificate: opts.ca.certPem,
      subject: opts.ca.cert.subject,
      notAfter: opts.ca.cert.notAfter.toISOString(),
      tunnel: endpoint.urls.tunnel,
      service: endpoint.urls.service,
      serverName: endpoint.urls.serverName,
    };
  });

  app.post(
    '/ca/control-credentials',
    {
      config: allow('admin', 'all'),
      schema: {
        tags: ['ca'],
        body: Type.Object(
          {
            name: Type.String(),
            role: Type.Union([Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('admin')]),
            namespaces: Type.Optional(Type.Array(Type.String())),
            ttl: Ttl,
            certificate: Type.Optional(Type.Boolean()),
          },
          closed,
        ),
      },
    },
    async (req) => {
      requireRole(req, 'admin');
      return issueControlCredentials(deps(), req.body);
    },
  );

  app.get('/ca/issued', { config: allow('admin', 'all'), schema: { tags: ['ca'] } }, async (req) => {
    requireRole(req, 'admin');
    return { issued: (await opts.registry.list()).sort((a, b) => a.issuedAt.localeCompare(b.issuedAt)) };
  });

  app.post(
    '/ca/revocations',
    {
      config: allow('admin', 'all'),
      schema: { tags: ['ca'], body: Type.Object({ id: Type.String() }, closed) },
    },
    async (req) => {
      requireRole(req, 'admin');
      const entry = await opts.revocations.revoke(req.body.id);
      if (!entry) throw notFound(`no credential with id "${req.body.id}" was issued here`);
      return entry;
    },
  );
};

/** The same routes as an `extraRoutes` entry for buildApp (registered under /api/v1). */
export function makeAgentRoutes(opts: AgentRoutesOptions) {
  return async (app: FastifyInstance) => {
    await app.register(agentRoutes, opts);
  };
}
