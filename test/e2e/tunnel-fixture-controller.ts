// A controller with only the tunnel (endpoint + control API), run as its own
// process by the tunnel end-to-end tests and the benchmark. Prints one JSON
// line when ready.
import { join } from 'node:path';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import pino from 'pino';
import { startAgentTunnel } from '../../packages/controller/src/agents/credentials.js';
import { makeAgentRoutes } from '../../packages/controller/src/agents/routes.js';
import { Revocations, registryBackend } from '../../packages/controller/src/auth/revocations.js';
import { TokenService } from '../../packages/controller/src/auth/tokens.js';
import { openFileCa } from '../../packages/controller/src/ca/index.js';
import { installAuth } from '../../packages/controller/src/http/auth.js';
import { handleError } from '../../packages/controller/src/http/errors.js';

const env = (k: string, d?: string) => process.env[k] ?? d ?? '';
const home = env('SKY_HOME');
const tunnelHost = env('SKY_TUNNEL_HOST', '127.0.0.1');
const logger = pino({ level: env('SKY_LOG', 'warn') }, pino.destination(2));
const { ca, registry } = await openFileCa(home);
const revocations = await Revocations.open([registryBackend(registry)]);
const tokens = await TokenService.open({ keyFile: join(home, 'tokens.key'), revocations });
const endpoint = await startAgentTunnel({
  home,
  ca,
  tokens,
  revocations,
  host: tunnelHost,
  serviceHost: '127.0.0.1',
  tunnelPort: Number(env('SKY_TUNNEL_PORT', '0')),
  servicePort: Number(env('SKY_SERVICE_PORT', '0')),
  serverNames: ['localhost', tunnelHost, '127.0.0.1'],
  keepaliveMs: Number(env('SKY_KEEPALIVE_MS', '2000')),
  logger,
});
const app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
app.setErrorHandler(handleError);
installAuth(app, tokens);
await app.register(makeAgentRoutes({ endpoint, ca, tokens, registry, revocations }), { prefix: '/api/v1' });
await app.listen({ host: '127.0.0.1', port: Number(env('SKY_API_PORT', '0')) });
const api = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
const admin = await tokens.issue({
  subject: 'e2e-admin',
  scope: { kind: 'api', role: 'admin', namespaces: ['*'] },
  ttlMs: 3_600_000,
});
process.stdout.write(
  `${JSON.stringify({ ready: true, pid: process.pid, urls: endpoint.urls, api, adminToken: admin.token, ca: endpoint.caPem })}\n`,
);
const stop = async () => {
  await app.close();
  await endpoint.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.on('SIGUSR2', () => {
  const m = process.memoryUsage();
  const kib = (n: number) => Math.round(n / 1024);
  process.stderr.write(
    `memory: rss ${kib(m.rss)} KiB heapTotal ${kib(m.heapTotal)} heapUsed ${kib(m.heapUsed)} external ${kib(m.external)} arrayBuffers ${kib(m.arrayBuffers)}\n`,
  );
});
