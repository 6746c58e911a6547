import type { FastifyInstance, FastifyReply } from 'fastify';
import type { PolicyManager } from '../../engine/policy-manager.js';
import type { ParseLimit, PolicyVersion } from '../../engine/policy-version.js';
import type { Metrics } from '../../metrics/registry.js';
import { POLICY_LIMITS } from '../../policy/parse.js';
import { redactPolicyText } from '../../policy/secrets.js';
import { LOOPBACK_CALLER, type PolicyAudit } from '../policy-audit.js';

/** Policy bodies are bounded by the policy document limit, not the admin API's general one. */
export const POLICY_BODY_LIMIT = POLICY_LIMITS.maxBytes;

const redacted = new WeakMap<PolicyVersion, string>();

/** The text every answer shows: inline secrets replaced by placeholders, computed once per version. */
function shownText(v: PolicyVersion): string {
  let text = redacted.get(v);
  if (text === undefined) {
    text = redactPolicyText(v.text, v.policy.document);
    redacted.set(v, text);
  }
  return text;
}

/**
 * GET/PUT /v1/policy (ETag + If-Match) and POST /v1/policy:validate. Bodies are YAML or JSON text, parsed off
 * the event loop within POLICY_LIMITS; answers never carry an inline secret (see policy/secrets.ts). With `audit`, every
 * installed version and every stale-ETag refusal is appended to the audit log before the answer is sent.
 */
export function policyRoutes(app: FastifyInstance, policies: PolicyManager, metrics: Metrics, audit?: PolicyAudit): void {
  // An encapsulated context: JSON arrives as text too, so the bounded parser (not JSON.parse + stringify) sees it.
  void app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: POLICY_BODY_LIMIT }, (_req, body, done) => done(null, body));

    scope.get('/v1/policy', async (req, reply) => {
      const v = policies.current;
      reply.header('etag', v.etag);
      if ((req.headers.accept ?? '').includes('yaml')) return reply.type('application/yaml').send(shownText(v));
      return { version: v.version, etag: v.etag, sha256: v.sha256, loaded_at: v.loadedAt, rules: v.policy.rules.length, policy: shownText(v) };
    });

    scope.put('/v1/policy', { bodyLimit: POLICY_BODY_LIMIT }, async (req, reply) => {
      const text = bodyText(req.body);
      if (text === undefined) return reply.code(400).send({ error: 'invalid_policy', problems: [{ path: '(body)', message: 'send the policy as YAML or JSON text' }] });
      const ifMatch = req.headers['if-match'];
      const result = await policies.update(text, typeof ifMatch === 'string' ? ifMatch : undefined);
      const caller = req.adminCaller ?? LOOPBACK_CALLER;
      if (result.ok) {
        await audit?.installed(result.version, caller, req.ip);
        metrics.policyVersion.set(result.version.version);
        reply.header('etag', result.version.etag);
        return { version: result.version.version, etag: result.version.etag, rules: result.version.policy.rules.length };
      }
      metrics.policyRejections.inc({ reason: result.kind });
      if (result.kind === 'conflict') {
        await audit?.refused('etag_mismatch', caller, result.current, req.ip);
        return reply.code(409).header('etag', result.current.etag).send({ error: 'etag_mismatch', message: 'the policy changed since you read it; GET it again and reapply your edit', current_etag: result.current.etag });
      }
      if (result.kind === 'storage') {
        // RFC 4918 §11.5: the server cannot store the representation needed to complete the request.
        return reply
          .code(result.code === 'ENOSPC' || result.code === 'EDQUOT' ? 507 : 503)
          .header('etag', result.current.etag)
          .send({ error: 'storage_unavailable', message: `the policy could not be stored (${result.code ?? 'write failed'}); version ${result.current.version} keeps serving`, code: result.code, current_etag: result.current.etag });
      }
      return invalid(reply, { error: 'invalid_policy', problems: result.problems }, result.limit);
    });

    scope.post('/v1/policy::validate', { bodyLimit: POLICY_BODY_LIMIT }, async (req, reply) => {
      const text = bodyText(req.body);
      if (text === undefined) return reply.code(400).send({ valid: false, problems: [{ path: '(body)', message: 'send the policy as YAML or JSON text' }] });
      const built = await policies.validate(text);
      if (built.ok) return { valid: true, rules: built.build.policy.rules.length };
      return invalid(reply, { valid: false, problems: built.problems }, built.limit);
    });
  });
}

/** 413 when the document is too big, 400 for every other problem; the limit broken is named in both. */
function invalid(reply: FastifyReply, body: Record<string, unknown>, limit: ParseLimit | undefined): FastifyReply {
  return reply.code(limit?.name === 'maxBytes' ? 413 : 400).send(limit ? { ...body, limit } : body);
}

function bodyText(body: unknown): string | undefined {
  if (typeof body === 'string' && body.trim() !== '') return body;
  if (Buffer.isBuffer(body) && body.length > 0) return body.toString('utf8');
  return undefined;
}
