import Fastify, { type FastifyInstance } from 'fastify';
import type { PolicyManager } from '../engine/policy-manager.js';
import type { Metrics } from '../metrics/registry.js';
import { requireBearerToken } from './auth.js';
import { decideRoutes } from './routes/decide.js';
import { healthRoutes } from './routes/health.js';
import { policyRoutes } from './routes/policy.js';

export interface AdminDeps {
  policies: PolicyManager;
  metrics: Metrics;
  token: string | undefined;
  ready: () => boolean;
  /** Extra route groups contributed by other modules (xDS status, inventory, audit). */
  extraRoutes?: Array<(app: FastifyInstance) => void>;
}

/** Builds the admin REST API (Fastify). Policy bodies are accepted as YAML, JSON or plain text. */
export function buildAdmin(deps: AdminDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 8 * 1024 * 1024 });
  for (const type of ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain']) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => done(null, body));
  }
  if (deps.token) requireBearerToken(app, deps.token);
  healthRoutes(app, deps.metrics, deps.ready);
  policyRoutes(app, deps.policies, deps.metrics);
  decideRoutes(app, deps.policies);
  for (const add of deps.extraRoutes ?? []) add(app);
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    void reply.code(status).send({ error: status === 500 ? 'internal' : 'bad_request', message: status === 500 ? 'internal error' : err.message });
  });
  return app;
}
