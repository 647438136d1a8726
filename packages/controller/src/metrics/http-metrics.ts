// Counts and times every REST request by its route template (`/api/v1/tags/:tag`,
// never the URL with its values) and status.
import type { FastifyInstance } from 'fastify';
import type { ControllerMetrics } from './controller-metrics.js';

export function installHttpMetrics(app: FastifyInstance, metrics: ControllerMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? '(unmatched)';
    const method = request.method;
    metrics.httpRequests.inc({ route, method, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ route, method }, reply.elapsedTime / 1000);
  });
}
