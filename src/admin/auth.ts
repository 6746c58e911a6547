import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { roleAllows, roleNeeded, tokenDigest, type AdminCaller, type AdminRole, type AdminToken } from './roles.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request (token name and role); unset when the admin API runs without tokens (loopback only). */
    adminCaller?: AdminCaller;
  }
}

const OPEN_PATHS = new Set(['/healthz', '/readyz']);

export interface BearerAuthOptions {
  /** A valid token whose role is not enough; called before the 403 is sent (the policy audit records refused PUTs). */
  onForbidden?: (req: FastifyRequest, caller: AdminCaller, needs: AdminRole) => void | Promise<void>;
}

/**
 * Requires `Authorization: Bearer <token>` on every route but health probes and the dashboard's static files, and a
 * role that covers the route (see `roleNeeded`): 401 without a valid token, 403 `{error: 'forbidden', role, needs}`.
 */
export function requireBearerToken(app: FastifyInstance, tokens: readonly AdminToken[], opts: BearerAuthOptions = {}): void {
  if (tokens.length === 0) throw new Error('requireBearerToken needs at least one token');
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    // The dashboard's static files hold no data; its API calls carry the token (src/admin/ui.ts).
    if (OPEN_PATHS.has(path) || path === '/ui' || path.startsWith('/ui/')) return;
    const header = req.headers.authorization ?? '';
    const given = tokenDigest(header.startsWith('Bearer ') ? header.slice(7) : '');
    // Digests have one length, and every token is compared (no early exit): the time says nothing about which matched.
    let match: AdminToken | undefined;
    for (const t of tokens) {
      if (timingSafeEqual(given, t.digest) && match === undefined) match = t;
    }
    if (!match) {
      return reply.code(401).header('www-authenticate', 'Bearer realm="tollgate"').send({ error: 'unauthorized', message: 'a valid admin bearer token is required' });
    }
    const caller: AdminCaller = { name: match.name, role: match.role };
    req.adminCaller = caller;
    const needs = roleNeeded(req.method, path);
    if (!roleAllows(caller.role, needs)) {
      await opts.onForbidden?.(req, caller, needs);
      return reply.code(403).send({ error: 'forbidden', message: `role ${caller.role} may not ${req.method} ${path}; it needs ${needs}`, role: caller.role, needs });
    }
  });
}
