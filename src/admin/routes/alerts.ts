import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseDuration } from '../../alerts/duration.js';
import type { AlertEngine } from '../../alerts/engine.js';
import { RULE_TYPES } from '../../alerts/schema.js';
import { problemsFromZod } from '../../policy/problems.js';

const listQuery = z.strictObject({
  state: z.enum(['delivered', 'pending', 'failed']).optional(),
  rule: z.string().min(1).optional(),
  type: z.enum([...RULE_TYPES, 'test']).optional(),
  /** An ISO-8601 time, or a duration back from now ("1h"). */
  since: z
    .string()
    .transform((s, ctx) => {
      const rel = parseDuration(s);
      const abs = rel === undefined ? Date.parse(s) : Number.NaN;
      if (rel === undefined && Number.isNaN(abs)) {
        ctx.addIssue({ code: 'custom', message: 'since must be an ISO-8601 time or a duration such as "1h"' });
        return z.NEVER;
      }
      return rel === undefined ? { at: abs } : { ago: rel };
    })
    .optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
});

const testBody = z.strictObject({ sink: z.string().min(1) });

/** GET /v1/alerts (history and dead-letter list) and POST /v1/alerts/test. Sink URLs and secrets are never returned. */
export function alertRoutes(app: FastifyInstance, engine: AlertEngine): void {
  app.get('/v1/alerts', async (req, reply) => {
    const parsed = listQuery.safeParse(req.query ?? {});
    if (!parsed.success) return reply.code(400).send({ error: 'invalid_request', problems: problemsFromZod(parsed.error) });
    const { since, ...filter } = parsed.data;
    const sinceMs = since === undefined ? undefined : 'at' in since ? since.at : engine.now() - since.ago;
    const alerts = await engine.listShared({ ...filter, since: sinceMs });
    return { count: alerts.length, alerts };
  });

  app.post('/v1/alerts/test', async (req, reply) => {
    const parsed = testBody.safeParse(req.body ?? {});
    if (!parsed.success) return reply.code(400).send({ error: 'invalid_request', problems: problemsFromZod(parsed.error) });
    const sent = await engine.sendTest(parsed.data.sink);
    if (!sent) return reply.code(404).send({ error: 'unknown_sink', message: `no sink named "${parsed.data.sink}"; sinks are: ${engine.sinkNames().join(', ') || '(none)'}` });
    return reply.code(sent.result.state === 'delivered' ? 200 : 502).send(sent);
  });
}
