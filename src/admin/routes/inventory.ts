import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { Inventory, InventoryQueryError } from '../../inventory/index.js';
import { parseSince, SINCE_HELP } from '../../inventory/since.js';
import { TOKEN_FLAGS } from '../../inventory/tokens.js';
import { problemsFromZod } from '../../policy/problems.js';

/** A `since` query parameter (7d, 24h, ISO time) as ms since epoch; a clear 400 for anything else. */
export const since = z
  .string()
  .transform((s, ctx) => {
    const t = parseSince(s);
    if (t === undefined) {
      ctx.addIssue({ code: 'custom', message: `since must be ${SINCE_HELP}` });
      return z.NEVER;
    }
    return t;
  })
  .optional();
const limit = z.coerce.number().int('limit must be a whole number').min(1).max(1000).default(100);
const cursor = z.string().min(1).max(2048).optional();
const name = z.string().min(1).max(512).optional();

const destinationsQuery = z.strictObject({
  identity: name,
  host: name,
  since,
  sort: z.enum(['last_seen', 'count', 'bytes']).default('last_seen'),
  cursor,
  limit,
});
const graphQuery = z.strictObject({ identity: name, since, limit: z.coerce.number().int().min(1).max(20_000).default(2000) });
const tokensQuery = z.strictObject({
  flag: z.enum(TOKEN_FLAGS).optional(),
  type: name,
  identity: name,
  since,
  sort: z.enum(['last_seen', 'count']).default('last_seen'),
  cursor,
  limit,
});
const piiQuery = z.strictObject({ identity: name, host: name, type: name, since, sort: z.enum(['last_seen', 'count']).default('last_seen'), cursor, limit });

function badRequest(reply: FastifyReply, problems: Array<{ path: string; message: string }>) {
  const message = problems.map((p) => (p.path === '(root)' ? p.message : `${p.path}: ${p.message}`)).join('; ');
  return reply.code(400).send({ error: 'invalid_request', message, problems });
}

/**
 * Read-only discovery API: `GET /v1/inventory/destinations` (edges, filter + sort + cursor),
 * `/graph` (identity and destination nodes with aggregated edges, for the dashboard), `/tokens`
 * (token inventory with flags) and `/pii` (where each PII type goes).
 */
export function inventoryRoutes(app: FastifyInstance, inventory: Inventory): void {
  const route = <S extends z.ZodType>(path: string, schema: S, run: (q: z.infer<S>) => Promise<unknown>) => {
    app.get(path, async (req, reply) => {
      const parsed = schema.safeParse(req.query ?? {});
      if (!parsed.success) return badRequest(reply, problemsFromZod(parsed.error));
      try {
        return await run(parsed.data);
      } catch (err) {
        if (err instanceof InventoryQueryError) return badRequest(reply, [{ path: 'cursor', message: err.message }]);
        // The fleet inventory lives in Redis: while it is unreachable say so, rather than a bare 500.
        if ((err as { code?: string }).code === 'REDIS_UNAVAILABLE') return reply.code(503).send({ error: 'shared_store_unavailable', message: `${(err as Error).message}: the fleet inventory cannot be read until it returns` });
        throw err;
      }
    });
  };
  route('/v1/inventory/destinations', destinationsQuery, (q) => inventory.destinations(q));
  route('/v1/inventory/graph', graphQuery, (q) => inventory.graph(q));
  route('/v1/inventory/tokens', tokensQuery, (q) => inventory.tokens(q));
  route('/v1/inventory/pii', piiQuery, (q) => inventory.pii(q));
}
