import type { CheckResponse } from '../proto/gen/envoy/service/auth/v3/external_auth.js';
import type { StructMessage } from '../proto/struct.js';
import { encodeOkResponse } from './ok-response-encode.js';

export const HEADER_DECISION_ID = 'x-tollgate-decision-id';
export const HEADER_IDENTITY = 'x-tollgate-identity';

/**
 * Envoy stores CheckResponse.dynamic_metadata under this fixed namespace (ext_authz.cc `Filter::onComplete`:
 * `setDynamicMetadata("envoy.filters.http.ext_authz", ...)`), for OK and denied answers alike; ext_proc receives it
 * when its `metadata_options.forwarding_namespaces` lists it, and the gRPC access logger always logs it
 * (grpc_access_log_utils.cc `extractCommonAccessLogProperties`).
 */
export const EXT_AUTHZ_NAMESPACE = 'envoy.filters.http.ext_authz';

/** What ext_authz hands to the filters after it and to the access log, in EXT_AUTHZ_NAMESPACE. */
export interface DecisionMetadata {
  decisionId: string;
  identity: string;
  identitySource?: string | undefined;
  verdict: string;
  policyVersion?: number | undefined;
}

/** Keys of the Struct in EXT_AUTHZ_NAMESPACE; ext_proc and the ALS service read them back. */
export const METADATA_KEYS = { decisionId: 'decision_id', identity: 'identity', identitySource: 'identity_source', verdict: 'verdict', policyVersion: 'policy_version' } as const;

const PERMISSION_DENIED = 7;

/** The Struct `stringStruct` would build, written out: this runs on every Check. */
function metadataStruct(m: DecisionMetadata): StructMessage {
  const fields: NonNullable<StructMessage['fields']> = {
    [METADATA_KEYS.decisionId]: { stringValue: m.decisionId },
    [METADATA_KEYS.identity]: { stringValue: m.identity },
  };
  if (m.identitySource !== undefined) fields[METADATA_KEYS.identitySource] = { stringValue: m.identitySource };
  fields[METADATA_KEYS.verdict] = { stringValue: m.verdict };
  if (m.policyVersion !== undefined) fields[METADATA_KEYS.policyVersion] = { stringValue: versionString(m.policyVersion) };
  return { fields };
}

let lastVersion = -1;
let lastVersionString = '';

function versionString(v: number): string {
  if (v !== lastVersion) {
    lastVersion = v;
    lastVersionString = String(v);
  }
  return lastVersionString;
}

/**
 * OK: the identity and decision travel in dynamic_metadata, never in a request header. Envoy applies
 * headers_to_set, then append, then headers_to_remove last (ext_authz.cc `Filter::onComplete`), so a header that
 * was set and is also removed (the signed identity header is `x-tollgate-identity` by default) would be gone before
 * ext_proc runs. `headers_to_remove` strips the signed identity header and any `x-tollgate-*` a workload sent, so
 * neither reaches a later filter or the upstream.
 */
export function okResponse(meta: DecisionMetadata, signedHeader: string | undefined): CheckResponse {
  const remove = headersToRemove(signedHeader);
  const metadata = metadataStruct(meta);
  return {
    status: { code: 0 },
    ok_response: { headers_to_remove: remove },
    dynamic_metadata: metadata,
    [HAND_ENCODED]: true,
  } as unknown as CheckResponse;
}

/** Marks the OK answers `okResponse` built (and nothing else): only their shape is known to the hand-written encoder. */
const HAND_ENCODED = Symbol('tollgate.handEncoded');

type OkAnswer = { [HAND_ENCODED]?: true; ok_response: { headers_to_remove: readonly string[] }; dynamic_metadata: StructMessage };

/** The answer's bytes when `okResponse` built it, else undefined (then the proto-loader serializer writes it). */
export function encodedResponse(res: CheckResponse): Buffer | undefined {
  const ok = res as unknown as OkAnswer;
  return ok[HAND_ENCODED] ? encodeOkResponse(ok.ok_response.headers_to_remove, ok.dynamic_metadata) : undefined;
}

/** The headers every OK answer removes, built once per signed-header name (one per policy), not per Check. Never mutated. */
const removeLists = new Map<string, readonly string[]>();

function headersToRemove(signedHeader: string | undefined): readonly string[] {
  const key = signedHeader ?? '';
  let list = removeLists.get(key);
  if (!list) {
    list = [...new Set([HEADER_IDENTITY, HEADER_DECISION_ID, ...(signedHeader ? [signedHeader] : [])])];
    if (removeLists.size < 64) removeLists.set(key, list);
  }
  return list;
}

export interface DenialBody {
  error: 'egress_denied';
  decision_id: string;
  identity: string;
  destination: string;
  reason: string;
}

/** Denied: a local 403 from Envoy with a JSON body naming the decision id a developer can hand to support. */
export function deniedResponse(body: DenialBody, meta?: DecisionMetadata): CheckResponse {
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
    ...(meta ? { dynamic_metadata: metadataStruct(meta) } : {}),
  } as unknown as CheckResponse;
}
