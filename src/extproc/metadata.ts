import { EXT_AUTHZ_NAMESPACE, METADATA_KEYS } from '../authz/check-response.js';
import type { ProcessingRequest } from '../proto/gen/envoy/service/ext_proc/v3/external_processor.js';
import { structString } from '../proto/struct.js';

/**
 * The decision ext_authz made for this request, from the dynamic metadata Envoy forwards to ext_proc: only the
 * namespaces in the filter's `metadata_options.forwarding_namespaces.untyped` (ext_proc.cc `Filter::addDynamicMetadata`).
 */
export function decisionFromMetadata(context: ProcessingRequest['metadata_context']): { identity?: string; decisionId?: string } {
  const filterMetadata = (context as { filter_metadata?: Record<string, unknown> } | undefined)?.filter_metadata;
  const struct = filterMetadata?.[EXT_AUTHZ_NAMESPACE];
  if (!struct) return {};
  const identity = structString(struct, METADATA_KEYS.identity);
  const decisionId = structString(struct, METADATA_KEYS.decisionId);
  return { ...(identity ? { identity } : {}), ...(decisionId ? { decisionId } : {}) };
}

/** Envoy puts the evaluated `request_attributes` under the ext_proc filter's fixed name (ext_proc.cc `addAttributes`). */
const EXT_PROC_ATTRIBUTES = 'envoy.filters.http.ext_proc';

/**
 * Connection facts from `request_attributes`, for a gateway whose ext_authz is not Tollgate's (Istio, Envoy Gateway):
 * the peer's URI SAN (`connection.uri_san_peer_certificate`: the workload's SPIFFE ID under Istio mTLS) and
 * `source.address` (`ip:port`). These are Envoy's CEL attribute names; there is no `source.principal` attribute.
 */
export function peerFromAttributes(attributes: ProcessingRequest['attributes']): { principal?: string; sourceAddress?: string } {
  const struct = (attributes as Record<string, unknown> | undefined)?.[EXT_PROC_ATTRIBUTES];
  if (!struct) return {};
  const principal = structString(struct, 'connection.uri_san_peer_certificate');
  const address = structString(struct, 'source.address');
  return { ...(principal ? { principal } : {}), ...(address ? { sourceAddress: stripPort(address) } : {}) };
}

function stripPort(address: string): string {
  if (address.startsWith('[')) return address.slice(1, address.indexOf(']'));
  const colon = address.lastIndexOf(':');
  return colon !== -1 && address.indexOf(':') === colon ? address.slice(0, colon) : address;
}
