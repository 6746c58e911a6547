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
