import type { FastifyInstance } from 'fastify';
import type { StorageHealth } from '../../engine/storage-health.js';
import type { Metrics } from '../../metrics/registry.js';

/** Liveness, readiness (policy loaded, gRPC serving, data directory writable) and Prometheus metrics. */
export function healthRoutes(app: FastifyInstance, metrics: Metrics, ready: () => boolean, storage?: StorageHealth, degraded?: () => Array<{ component: string; reason: string; since: string }>): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (!ready()) return reply.code(503).send({ status: 'starting' });
    // Checks keep being answered on a full disk, but what they produce cannot be kept: not ready, with why.
    if (storage && !(await storage.probe())) {
      return reply.code(503).send({ status: 'not_ready', reasons: storage.list().map((p) => ({ component: p.component, code: p.code, reason: p.reason, since: p.since })) });
    }
    // Redis down: Checks still answer from the last good policy, so stay in rotation but say what is missing.
    const reasons = degraded?.() ?? [];
    if (reasons.length > 0) return { status: 'degraded', reasons };
    return { status: 'ready' };
  });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
}
