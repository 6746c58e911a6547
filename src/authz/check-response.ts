import type { CheckResponse } from '../proto/gen/envoy/service/auth/v3/external_auth.js';

export const HEADER_DECISION_ID = 'x-tollgate-decision-id';
export const HEADER_IDENTITY = 'x-tollgate-identity';

const PERMISSION_DENIED = 7;

/**
 * OK: headers are set with `value` and OVERWRITE_IF_EXISTS_OR_ADD (an `append` on a missing header is
 * dropped by Envoy); `headers_to_remove` strips the signed identity header so it never leaves.
 */
export function okResponse(decisionId: string, identity: string, removeHeaders: readonly string[]): CheckResponse {
  return {
    status: { code: 0 },
    ok_response: {
      headers: [
        { header: { key: HEADER_DECISION_ID, value: decisionId }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
        { header: { key: HEADER_IDENTITY, value: identity }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      ],
      headers_to_remove: [...removeHeaders],
    },
  } as CheckResponse;
}

export interface DenialBody {
  error: 'egress_denied';
  decision_id: string;
  identity: string;
  destination: string;
  reason: string;
}

/** Denied: a local 403 from Envoy with a JSON body naming the decision id a developer can hand to support. */
export function deniedResponse(body: DenialBody): CheckResponse {
  return {
    status: { code: PERMISSION_DENIED, message: body.reason.slice(0, 256) },
    denied_response: {
      status: { code: 'Forbidden' },
      headers: [
        { header: { key: 'content-type', value: 'application/json' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
        { header: { key: HEADER_DECISION_ID, value: body.decision_id }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      ],
      body: JSON.stringify(body),
    },
  } as CheckResponse;
}
