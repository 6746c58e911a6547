import { EXT_AUTHZ_NAMESPACE } from '../../src/authz/check-response.js';
import type { CheckResponse } from '../../src/proto/gen/envoy/service/auth/v3/external_auth.js';
import { stringStruct, structString } from '../../src/proto/struct.js';

/** The decision a CheckResponse hands on in dynamic_metadata (what Envoy stores under envoy.filters.http.ext_authz). */
export function decisionOf(res: CheckResponse): { decisionId?: string; identity?: string; identitySource?: string; verdict?: string } {
  const md = (res as { dynamic_metadata?: unknown }).dynamic_metadata;
  return { decisionId: structString(md, 'decision_id'), identity: structString(md, 'identity'), identitySource: structString(md, 'identity_source'), verdict: structString(md, 'verdict') };
}

/** Envoy's stream dynamic metadata after ext_authz, as ext_proc's metadata_context or an access log entry carries it. */
export function authzMetadata(values: { identity: string; decisionId?: string }) {
  return { filter_metadata: { [EXT_AUTHZ_NAMESPACE]: stringStruct({ identity: values.identity, decision_id: values.decisionId }) } };
}
