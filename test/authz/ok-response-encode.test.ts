import { describe, expect, it } from 'vitest';
import { encodedResponse, okResponse, deniedResponse, type DecisionMetadata } from '../../src/authz/check-response.js';
import { serviceDefinition } from '../../src/proto/load.js';
import type { CheckResponse } from '../../src/proto/gen/envoy/service/auth/v3/external_auth.js';

const check = serviceDefinition('envoy.service.auth.v3.Authorization').Check!;
const protobufjsBytes = (res: CheckResponse) => check.responseSerialize(res);

const metas: Array<[string, DecisionMetadata, string | undefined]> = [
  ['a typical allow', { decisionId: '7d3c1f9e-8a8b-4f7e-9d55-0c1b5e2f4a10', identity: 'billing', identitySource: 'mtls', verdict: 'allow', policyVersion: 12 }, 'x-tollgate-identity'],
  ['no identity source and no signed header', { decisionId: 'd1', identity: 'unknown', verdict: 'report_deny', policyVersion: 1 }, undefined],
  ['no policy version', { decisionId: 'd2', identity: 'ci-7', identitySource: 'signed_header', verdict: 'allow' }, 'x-ci-identity'],
  ['fields longer than 127 bytes (two-byte lengths)', { decisionId: 'd'.repeat(300), identity: 'i'.repeat(200), identitySource: 'xfcc', verdict: 'allow', policyVersion: 123456789 }, `x-${'h'.repeat(140)}`],
  ['a non-ASCII identity name', { decisionId: 'd3', identity: 'équipe-paiements-支付', identitySource: 'mtls', verdict: 'allow', policyVersion: 2 }, 'x-tollgate-identity'],
];

describe('the OK answer Envoy receives', () => {
  it.each(metas)('is byte for byte what the proto-loader serializer writes: %s', (_name, meta, signedHeader) => {
    const res = okResponse(meta, signedHeader);
    const mine = encodedResponse(res);
    expect(mine).toBeDefined();
    expect(mine!.equals(protobufjsBytes(res))).toBe(true);
    const back = check.responseDeserialize(mine!) as CheckResponse & { dynamic_metadata: { fields: Record<string, { stringValue: string }> } };
    expect(back.dynamic_metadata.fields.identity?.stringValue).toBe(meta.identity);
    expect(back.dynamic_metadata.fields.decision_id?.stringValue).toBe(meta.decisionId);
  });

  it('a denial is left to the proto-loader serializer', () => {
    const res = deniedResponse({ error: 'egress_denied', decision_id: 'd', identity: 'billing', destination: 'x.example:443', reason: 'no rule' });
    expect(encodedResponse(res)).toBeUndefined();
  });
});
