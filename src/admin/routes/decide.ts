import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { PolicyManager } from '../../engine/policy-manager.js';
import { decideChecked } from '../../authz/authorize.js';
import type { DnsGuard } from '../../authz/dns-guard.js';
import { problemsFromZod } from '../../policy/problems.js';

const decideBody = z.strictObject({
  /** Identity name to decide for; or give the caller facts below and let the resolvers find it. */
  identity: z.string().min(1).optional(),
  principal: z.string().optional(),
  source_address: z.string().optional(),
  xfcc: z.string().optional(),
  signed_header: z.string().optional(),
  host: z.string().min(1),
  method: z.string().min(1).default('GET'),
  path: z.string().default('/'),
});

/** POST /v1/decide: what-if evaluation against the current policy, with the same DNS guard a Check runs; records nothing. */
export function decideRoutes(app: FastifyInstance, policies: PolicyManager, dns: DnsGuard): void {
  app.post('/v1/decide', async (req, reply) => {
    const parsed = decideBody.safeParse(req.body);
    if (!parsed.success) return reply.code(400).send({ error: 'invalid_request', problems: problemsFromZod(parsed.error) });
    const input = parsed.data;
    const version = policies.current;
    const who = input.identity
      ? { name: input.identity, source: 'given' }
      : await version.identities.resolve({ principal: input.principal, sourceAddress: input.source_address, xfcc: input.xfcc, signedHeader: input.signed_header });
    const decision = await decideChecked(version.policy, { identity: who.name, authority: input.host, method: input.method, path: input.path }, dns);
    return { policy_version: version.version, identity: who.name, identity_source: who.source ?? null, ...decision };
  });
}
