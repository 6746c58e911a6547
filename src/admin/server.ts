import Fastify, { type FastifyInstance } from 'fastify';
import type { PolicyManager } from '../engine/policy-manager.js';
import type { StorageHealth } from '../engine/storage-health.js';
import type { Metrics } from '../metrics/registry.js';
import { requireBearerToken } from './auth.js';
import type { PolicyAudit } from './policy-audit.js';
import type { AdminToken } from './roles.js';
import { guardHostAndOrigin } from './host-guard.js';
import { decideRoutes } from './routes/decide.js';
import { DnsGuard } from '../authz/dns-guard.js';
import { healthRoutes } from './routes/health.js';
import { policyRoutes } from './routes/policy.js';
import { uiRoutes } from './ui.js';

export interface AdminDeps {
  policies: PolicyManager;
  /** The DNS guard Checks use, so what-if answers agree with them (a fresh one when absent). */
  dns?: DnsGuard;
  metrics: Metrics;
  /** Accepted bearer tokens with their roles; none: no token required (the admin API is then bound to loopback only). */
  tokens: readonly AdminToken[];
  /** Appends policy changes and refused attempts to the audit log (`admin` records). */
  policyAudit?: PolicyAudit;
  ready: () => boolean;
  /** Data-directory writability; `/readyz` answers 503 with the reasons while it is bad. */
  storage?: StorageHealth;
  /** Shared state (Redis) that is unreachable: `/readyz` answers 200 `degraded` with the reasons, since decisions go on. */
  degraded?: () => Array<{ component: string; reason: string; since: string }>;
  /** Host the admin API binds (for the Host check) and extra names clients may use (`adminAllowedHosts`). */
  bindHost?: string;
  allowedHosts?: readonly string[];
  /** Extra route groups contributed by other modules (xDS status, inventory, audit). */
  extraRoutes?: Array<(app: FastifyInstance) => void>;
}

/** Request bodies of the admin API in general; policy routes have their own, smaller limit (POLICY_LIMITS.maxBytes). */
export const ADMIN_BODY_LIMIT = 8 * 1024 * 1024;

/** Builds the admin REST API (Fastify). Policy bodies are accepted as YAML, JSON or plain text. */
export function buildAdmin(deps: AdminDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: ADMIN_BODY_LIMIT });
  for (const type of ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain']) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => done(null, body));
  }
  guardHostAndOrigin(app, { bindHost: deps.bindHost ?? '127.0.0.1', allowedHosts: deps.allowedHosts ?? [], hasToken: deps.tokens.length > 0 });
  if (deps.tokens.length > 0) {
    requireBearerToken(app, deps.tokens, {
      onForbidden: async (req, caller) => {
        if (req.method === 'PUT' && req.url.split('?')[0] === '/v1/policy') await deps.policyAudit?.refused('forbidden', caller, deps.policies.current, req.ip);
      },
    });
  }
  healthRoutes(app, deps.metrics, deps.ready, deps.storage, deps.degraded);
  policyRoutes(app, deps.policies, deps.metrics, deps.policyAudit);
  decideRoutes(app, deps.policies, deps.dns ?? new DnsGuard());
  uiRoutes(app);
  for (const add of deps.extraRoutes ?? []) add(app);
  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const limit = req.routeOptions.bodyLimit ?? ADMIN_BODY_LIMIT;
      return reply.code(413).send({ error: 'payload_too_large', message: `request body is larger than this endpoint's limit of ${limit} bytes`, limit: { name: 'bodyLimit', value: limit } });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    void reply.code(status).send({ error: status === 500 ? 'internal' : 'bad_request', message: status === 500 ? 'internal error' : err.message });
  });
  return app;
}
