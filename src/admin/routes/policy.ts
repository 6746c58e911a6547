import type { FastifyInstance } from 'fastify';
import type { PolicyManager } from '../../engine/policy-manager.js';
import { buildPolicy } from '../../engine/policy-version.js';
import type { Metrics } from '../../metrics/registry.js';

/** GET/PUT /v1/policy (ETag + If-Match) and POST /v1/policy:validate. Bodies are YAML or JSON text. */
export function policyRoutes(app: FastifyInstance, policies: PolicyManager, metrics: Metrics): void {
  app.get('/v1/policy', async (req, reply) => {
    const v = policies.current;
    reply.header('etag', v.etag);
    if ((req.headers.accept ?? '').includes('yaml')) return reply.type('application/yaml').send(v.text);
    return { version: v.version, etag: v.etag, sha256: v.sha256, loaded_at: v.loadedAt, rules: v.policy.rules.length, policy: v.text };
  });

  app.put('/v1/policy', async (req, reply) => {
    const text = bodyText(req.body);
    if (text === undefined) return reply.code(400).send({ error: 'invalid_policy', problems: [{ path: '(body)', message: 'send the policy as YAML or JSON text' }] });
    const ifMatch = req.headers['if-match'];
    const result = await policies.update(text, typeof ifMatch === 'string' ? ifMatch : undefined);
    if (result.ok) {
      metrics.policyVersion.set(result.version.version);
      reply.header('etag', result.version.etag);
      return { version: result.version.version, etag: result.version.etag, rules: result.version.policy.rules.length };
    }
    metrics.policyRejections.inc({ reason: result.kind });
    if (result.kind === 'conflict') {
      return reply.code(409).header('etag', result.current.etag).send({ error: 'etag_mismatch', message: 'the policy changed since you read it; GET it again and reapply your edit', current_etag: result.current.etag });
    }
    return reply.code(400).send({ error: 'invalid_policy', problems: result.problems });
  });

  app.post('/v1/policy::validate', async (req, reply) => {
    const text = bodyText(req.body);
    if (text === undefined) return reply.code(400).send({ valid: false, problems: [{ path: '(body)', message: 'send the policy as YAML or JSON text' }] });
    const built = buildPolicy(text);
    if (built.ok) return { valid: true, rules: built.build.policy.rules.length };
    return reply.code(400).send({ valid: false, problems: built.problems });
  });
}

function bodyText(body: unknown): string | undefined {
  if (typeof body === 'string' && body.trim() !== '') return body;
  if (Buffer.isBuffer(body) && body.length > 0) return body.toString('utf8');
  if (body && typeof body === 'object') return JSON.stringify(body);
  return undefined;
}
