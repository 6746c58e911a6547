import type { FastifyInstance } from 'fastify';
import { getDomain } from 'tldts';
import { z } from 'zod';
import { diffLines } from '../../dashboard/text-diff.js';
import { ACTIVITY_MINUTES, type LiveActivity } from '../../dashboard/live.js';
import { edgeDecision, policyImpact, YIELD_EVERY } from '../../dashboard/policy-impact.js';
import type { PolicyManager } from '../../engine/policy-manager.js';
import type { Inventory } from '../../inventory/index.js';
import { since } from './inventory.js';
import { POLICY_LIMITS } from '../../policy/parse.js';
import { problemsFromZod } from '../../policy/problems.js';
import { redactPolicyText } from '../../policy/secrets.js';

export interface DashboardDeps {
  policies: PolicyManager;
  inventory: Inventory;
  live: LiveActivity;
  /** How often the event stream may send a summary (default 2 s). */
  streamIntervalMs?: number;
}

const MAX_STREAMS = 64;

const mapQuery = z.strictObject({
  since,
  limit: z.coerce.number().int().min(1).max(20_000).default(10_000),
});
const activityQuery = z.strictObject({ destinations: z.string().min(1).max(64 * 1024) });

/** Registrable domain (`stripe.com` for `api.stripe.com:443`); IPs and single labels stand for themselves. */
function registrableDomain(destination: string): string {
  const host = destination.replace(/:[^:\]]*$/, '').replace(/^\[|\]$/g, '');
  return getDomain(host, { allowPrivateDomains: false }) ?? host;
}

/**
 * Endpoints the dashboard needs, each usable from a script too:
 * - GET /v1/egress-map: the inventory graph (busiest identity→destination pairs) with each destination's registrable domain.
 * - GET /v1/inventory/activity?destinations=a,b: requests per minute over the last 30 minutes (sparklines).
 * - POST /v1/policy:impact: a proposed policy's diff and the observed edges it would start or stop denying.
 * - GET /v1/policy/report-mode: observed report-only denials grouped by the rule (or default) that would enforce them.
 * - GET /v1/events/stream: server-sent `summary` events (totals and the last minute), at most one per interval.
 */
export function dashboardRoutes(app: FastifyInstance, deps: DashboardDeps): void {
  const { policies, inventory, live } = deps;

  app.get('/v1/egress-map', async (req, reply) => {
    const parsed = mapQuery.safeParse(req.query ?? {});
    if (!parsed.success) return reply.code(400).send({ error: 'invalid_request', problems: problemsFromZod(parsed.error) });
    const graph = await inventory.graph(parsed.data);
    return { ...graph, nodes: graph.nodes.map((n) => (n.kind === 'destination' ? { ...n, domain: registrableDomain(n.label) } : n)) };
  });

  app.get('/v1/inventory/activity', async (req, reply) => {
    const parsed = activityQuery.safeParse(req.query ?? {});
    if (!parsed.success) return reply.code(400).send({ error: 'invalid_request', problems: problemsFromZod(parsed.error) });
    const destinations = parsed.data.destinations.split(',').filter(Boolean).slice(0, 500);
    return { bucket_seconds: 60, buckets: ACTIVITY_MINUTES, series: live.activity(destinations) };
  });

  app.get('/v1/policy/report-mode', async () => {
    const v = policies.current;
    const groups = new Map<string, { rule: string; mode: string; would_have_denied: number; identities: Set<string>; edges: Array<{ identity: string; destination: string; method: string; path_template: string; report_deny: number; enforced_now: boolean }> }>();
    let seen = 0;
    for await (const e of inventory.edges()) {
      if (++seen % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
      if (e.decisions.report_deny === 0) continue;
      const d = edgeDecision(v.policy, e);
      const key = d.rule;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { rule: d.rule, mode: d.mode, would_have_denied: 0, identities: new Set(), edges: [] }));
      g.would_have_denied += e.decisions.report_deny;
      g.identities.add(e.identity);
      if (g.edges.length < 200) g.edges.push({ identity: e.identity, destination: e.destination, method: e.method, path_template: e.path_template, report_deny: e.decisions.report_deny, enforced_now: d.verdict === 'deny' });
    }
    const reportRules = v.policy.rules.filter((r) => r.mode === 'report').map((r) => ({ id: r.id, identity: r.identity, host: r.host }));
    const report = [...groups.values()].sort((a, b) => b.would_have_denied - a.would_have_denied).map((g) => ({ ...g, identities: [...g.identities].sort() }));
    return { policy_version: v.version, default_mode: v.policy.defaultMode, report_rules: reportRules, report };
  });

  // Its own context: the proposed policy arrives as text (YAML or JSON), parsed by the bounded policy parser.
  void app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: POLICY_LIMITS.maxBytes }, (_req, body, done) => done(null, body));
    scope.post('/v1/policy::impact', { bodyLimit: POLICY_LIMITS.maxBytes }, async (req, reply) => {
      const text = typeof req.body === 'string' ? req.body : Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      if (text.trim() === '') return reply.code(400).send({ valid: false, problems: [{ path: '(body)', message: 'send the proposed policy as YAML or JSON text' }] });
      const current = policies.current;
      const built = await policies.validate(text);
      const base = { current: { version: current.version, etag: current.etag } };
      if (!built.ok) return reply.code(built.limit?.name === 'maxBytes' ? 413 : 400).send({ ...base, valid: false, problems: built.problems, ...(built.limit ? { limit: built.limit } : {}) });
      // Both sides as the API shows them: inline secrets are placeholders, never echoed back.
      const diff = diffLines(redactPolicyText(current.text, current.policy.document), redactPolicyText(built.build.text, built.build.policy.document));
      const impact = await policyImpact(current.policy, built.build.policy, inventory.edges());
      return { ...base, valid: true, rules: built.build.policy.rules.length, diff: { exact: diff.exact, changed: diff.lines.some((l) => l.op !== '='), lines: diff.lines }, impact };
    });
  });

  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...streams]) end();
  });
  app.get('/v1/events/stream', (req, reply) => {
    if (streams.size >= MAX_STREAMS) return reply.code(503).send({ error: 'too_many_streams', message: `at most ${MAX_STREAMS} event streams at once; poll GET /v1/events/summary instead` });
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive' });
    let lastSeq = -1;
    let idle = 0;
    const tick = () => {
      const s = live.summary();
      if (s.seq !== lastSeq || idle >= 7) {
        // A summary on change (or every ~15 s as a heartbeat), never one per event.
        lastSeq = s.seq;
        idle = 0;
        res.write(`event: summary\nid: ${s.seq}\ndata: ${JSON.stringify(s)}\n\n`);
      } else idle++;
    };
    const timer = setInterval(tick, deps.streamIntervalMs ?? 2000);
    const end = () => {
      clearInterval(timer);
      streams.delete(end);
      if (!res.writableEnded) res.end();
    };
    streams.add(end);
    req.raw.on('close', end);
    tick();
  });
  app.get('/v1/events/summary', async () => live.summary());
}
