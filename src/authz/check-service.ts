import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { DecisionSink } from '../audit/decision-log.js';
import type { PolicyManager } from '../engine/policy-manager.js';
import type { Metrics } from '../metrics/registry.js';
import type { CheckRequest, CheckResponse } from '../proto/gen/envoy/service/auth/v3/external_auth.js';
import { serviceDefinition } from '../proto/load.js';
import { authorize } from './authorize.js';
import { parseCheckRequest } from './check-request.js';
import { deniedResponse, okResponse } from './check-response.js';
import type { DnsGuard } from './dns-guard.js';
import { randomUUID } from 'node:crypto';

export interface AuthzDeps {
  policies: PolicyManager;
  dns: DnsGuard;
  sink: DecisionSink;
  metrics: Metrics;
  log: Logger;
}

/** Answers one CheckRequest. Never throws: anything unexpected becomes a denial with a reason. */
export async function check(deps: AuthzDeps, req: CheckRequest): Promise<CheckResponse> {
  const started = process.hrtime.bigint();
  const parsed = parseCheckRequest(req);
  if (!parsed.ok) {
    deps.metrics.decisions.inc({ verdict: 'deny', mode: 'enforce' });
    return deniedResponse({ error: 'egress_denied', decision_id: randomUUID(), identity: 'unknown', destination: '(invalid)', reason: parsed.reason });
  }
  const version = deps.policies.current;
  const { decisionId, identity, decision } = await authorize(version, parsed.facts, deps.dns, deps.sink, started);
  deps.metrics.decisions.inc({ verdict: decision.verdict, mode: decision.mode });
  deps.metrics.checkSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
  const signed = version.identities.signedHeaderName;
  if (decision.allowed) return okResponse(decisionId, identity, signed ? [signed] : []);
  return deniedResponse({ error: 'egress_denied', decision_id: decisionId, identity, destination: decision.destination, reason: decision.reason });
}

export function registerAuthz(server: grpc.Server, deps: AuthzDeps): void {
  server.addService(serviceDefinition('envoy.service.auth.v3.Authorization'), {
    Check(call: grpc.ServerUnaryCall<CheckRequest, CheckResponse>, callback: grpc.sendUnaryData<CheckResponse>) {
      check(deps, call.request).then(
        (res) => callback(null, res),
        (err: unknown) => {
          deps.log.error({ err }, 'Check failed; denying');
          callback(null, deniedResponse({ error: 'egress_denied', decision_id: randomUUID(), identity: 'unknown', destination: '(unknown)', reason: 'internal error while deciding; denied (fail closed)' }));
        },
      );
    },
  });
}
