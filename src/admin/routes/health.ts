import type { FastifyInstance } from 'fastify';
import type { StorageHealth } from '../../engine/storage-health.js';
import type { Metrics } from '../../metrics/registry.js';

/** Liveness, readiness (policy loaded, gRPC serving, data directory writable) and Prometheus metrics. */
export function healthRoutes(app: FastifyInstance, metrics: Metrics, ready: () => boolean, storage?: StorageHealth): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (!ready()) return reply.code(503).send({ status: 'starting' });
    // Checks keep being answered on a full disk, but what they produce cannot be kept: not ready, with why.
    if (storage && !(await storage.probe())) {
      return reply.code(503).send({ status: 'not_ready', reasons: storage.list().map((p) => ({ component: p.component, code: p.code, reason: p.reason, since: p.since })) });
    }
    return { status: 'ready' };
  });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
}
