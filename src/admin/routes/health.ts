import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics/registry.js';

/** Liveness, readiness (policy loaded and gRPC serving) and Prometheus metrics. */
export function healthRoutes(app: FastifyInstance, metrics: Metrics, ready: () => boolean): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => (ready() ? { status: 'ready' } : reply.code(503).send({ status: 'starting' })));
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
}
