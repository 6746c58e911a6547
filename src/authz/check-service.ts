import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { DecisionSink } from '../audit/decision-log.js';
import type { PolicyManager } from '../engine/policy-manager.js';
import type { PolicyVersion } from '../engine/policy-version.js';
import type { Metrics } from '../metrics/registry.js';
import type { CheckRequest, CheckResponse } from '../proto/gen/envoy/service/auth/v3/external_auth.js';
import { serviceDefinition } from '../proto/load.js';
import { authorize, type Authorization } from './authorize.js';
import { parseCheckRequest } from './check-request.js';
import { deniedResponse, encodedResponse, okResponse } from './check-response.js';
import type { DnsGuard } from './dns-guard.js';
import { randomUUID } from 'node:crypto';

export interface AuthzDeps {
  policies: PolicyManager;
  dns: DnsGuard;
  sink: DecisionSink;
  metrics: Metrics;
  log: Logger;
}

/** Stands in for a CheckRequest whose bytes did not decode, so the handler can answer with a denial. */
interface Undecodable {
  undecodable: string;
}

function isUndecodable(req: unknown): req is Undecodable {
  return typeof (req as Undecodable | undefined)?.undecodable === 'string';
}

function denyUnknown(destination: string, reason: string): CheckResponse {
  return deniedResponse({ error: 'egress_denied', decision_id: randomUUID(), identity: 'unknown', destination, reason });
}

/**
 * Answers one CheckRequest. Never throws: anything unexpected becomes a denial with a reason. Synchronous unless the
 * caller's signed header or a wildcard allow's DNS check needs to wait.
 */
export function check(deps: AuthzDeps, req: CheckRequest): CheckResponse | Promise<CheckResponse> {
  const started = performance.now();
  const parsed = parseCheckRequest(req);
  if (!parsed.ok) {
    deps.metrics.decided.inc('deny', 'enforce');
    if (parsed.limit) deps.metrics.limitRejections.inc({ limit: parsed.limit });
    return denyUnknown('(invalid)', parsed.reason);
  }
  const version = deps.policies.current;
  const auth = authorize(version, parsed.facts, deps.dns, deps.sink, started);
  return auth instanceof Promise ? auth.then((a) => respond(deps, version, a, started)) : respond(deps, version, auth, started);
}

function respond(deps: AuthzDeps, version: PolicyVersion, { decisionId, identity, identitySource, decision }: Authorization, started: number): CheckResponse {
  deps.metrics.decided.inc(decision.verdict, decision.mode);
  deps.metrics.checkSeconds.observe((performance.now() - started) / 1000);
  const meta = { decisionId, identity, identitySource, verdict: decision.verdict, policyVersion: version.version };
  if (decision.allowed) return okResponse(meta, version.identities.signedHeaderName);
  return deniedResponse({ error: 'egress_denied', decision_id: decisionId, identity, destination: decision.destination, reason: decision.reason }, meta);
}

/**
 * The Authorization service with a request decoder that cannot fail: grpc-js answers a request it cannot decode with
 * INTERNAL, which Envoy treats as an error (status_on_error), not as the documented denial with a reason.
 */
function tolerantDefinition(): grpc.ServiceDefinition {
  const def = serviceDefinition('envoy.service.auth.v3.Authorization');
  const method = def.Check!;
  const decode = method.requestDeserialize;
  const encode = method.responseSerialize;
  return {
    ...def,
    Check: {
      ...method,
      responseSerialize: (res: CheckResponse) => encodedResponse(res) ?? encode(res),
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (err) {
          return { undecodable: (err as Error).message.slice(0, 200) } satisfies Undecodable;
        }
      },
    },
  };
}

export function registerAuthz(server: grpc.Server, deps: AuthzDeps): void {
  server.addService(tolerantDefinition(), {
    Check(call: grpc.ServerUnaryCall<CheckRequest | Undecodable, CheckResponse>, callback: grpc.sendUnaryData<CheckResponse>) {
      const req = call.request;
      if (isUndecodable(req)) {
        deps.metrics.decided.inc('deny', 'enforce');
        callback(null, denyUnknown('(invalid)', `CheckRequest could not be decoded: ${req.undecodable}`));
        return;
      }
      const failed = (err: unknown) => {
        deps.log.error({ err }, 'Check failed; denying');
        callback(null, denyUnknown('(unknown)', 'internal error while deciding; denied (fail closed)'));
      };
      let res: CheckResponse | Promise<CheckResponse>;
      try {
        res = check(deps, req);
      } catch (err) {
        failed(err);
        return;
      }
      if (res instanceof Promise) res.then((r) => callback(null, r), failed);
      else callback(null, res);
    },
  });
}
