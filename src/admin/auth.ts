import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

const OPEN_PATHS = new Set(['/healthz', '/readyz']);

/** Requires `Authorization: Bearer <token>` on every route but health probes; compared in constant time. */
export function requireBearerToken(app: FastifyInstance, token: string): void {
  const expected = createHash('sha256').update(token).digest();
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    // The dashboard's static files hold no data; its API calls carry the token (src/admin/ui.ts).
    if (OPEN_PATHS.has(path) || path === '/ui' || path.startsWith('/ui/')) return;
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    // Hash both sides so the comparison is constant-time regardless of length.
    const ok = timingSafeEqual(createHash('sha256').update(given).digest(), expected);
    if (!ok) {
      await reply.code(401).header('www-authenticate', 'Bearer realm="tollgate"').send({ error: 'unauthorized', message: 'a valid admin bearer token is required' });
    }
  });
}
