import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AuditStatus } from '../../audit/health.js';
import { parseTimeSpec } from '../../audit/time-spec.js';
import { problemsFromZod } from '../../policy/problems.js';
import { InvalidCursorError, type AuditQuery, type AuditStore } from '../../store/audit-store.js';

const timeSpec = z.string().transform((text, ctx) => {
  const t = parseTimeSpec(text);
  if (t === undefined) {
    ctx.addIssue({ code: 'custom', message: 'expected an ISO-8601 time (2026-11-25T18:00:00Z) or a duration back from now (30m, 24h, 7d)' });
    return z.NEVER;
  }
  return t;
});

const auditQuery = z
  .strictObject({
    since: timeSpec.optional(),
    until: timeSpec.optional(),
    identity: z.string().min(1).optional(),
    destination: z.string().min(1).optional(),
    verdict: z.enum(['allow', 'deny', 'report_deny']).optional(),
    finding_type: z.string().min(1).optional(),
    decision_id: z.string().min(1).optional(),
    kind: z.enum(['decision', 'scrub', 'access', 'admin']).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z.string().min(1).optional(),
  })
  .refine((q) => q.since === undefined || q.until === undefined || q.since < q.until, { message: 'since must be before until', path: ['since'] });

/**
 * GET /v1/audit: audit records newest first, filtered, one page at a time (`next_cursor` continues); the scan stops when
 * the client goes away. GET /v1/audit/status: failing appends, quarantined segments, the recorder's queue.
 */
export function auditRoutes(app: FastifyInstance, store: AuditStore, status?: () => AuditStatus): void {
  // app.close() waits for requests in flight: stop their scans first so that shutdown is not held up by a long query.
  const running = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const c of running) c.abort(Object.assign(new Error('shutting down'), { name: 'AbortError' }));
  });
  app.get('/v1/audit', async (req, reply) => {
    const parsed = auditQuery.safeParse(req.query);
    if (!parsed.success) return reply.code(400).send({ error: 'invalid_request', problems: problemsFromZod(parsed.error) });
    const query: AuditQuery = parsed.data;
    // The response closing before it was sent means the client left: stop reading segments for it.
    const gone = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) gone.abort(new Error('client disconnected'));
    };
    reply.raw.once('close', onClose);
    running.add(gone);
    try {
      return await store.query(query, { signal: gone.signal });
    } catch (err) {
      if (err instanceof InvalidCursorError) return reply.code(400).send({ error: 'invalid_request', problems: [{ path: 'cursor', message: err.message }] });
      if (gone.signal.aborted && (gone.signal.reason as Error | undefined)?.name !== 'AbortError') return reply.code(499).send({ error: 'client_closed_request' });
      // Connection: close, so that the server's close does not wait on this keep-alive connection.
      if ((err as Error).name === 'AbortError') return reply.code(503).header('connection', 'close').send({ error: 'shutting_down' });
      throw err;
    } finally {
      running.delete(gone);
      reply.raw.off('close', onClose);
    }
  });
  if (status) app.get('/v1/audit/status', async () => status());
}
