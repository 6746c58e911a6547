import { templatePath } from '../scrub/path.js';

const MEMO_LIMIT = 4096;
const MEMO_MAX_LENGTH = 256;
/**
 * Templates of recent paths: every decision asks twice (its event and the access-log join) for its audit path. Paths
 * with a query are never kept (a raw access-log path could carry a token there), nor long ones (memory stays bounded).
 */
const memo = new Map<string, string>();

/** `/v1/customers/cus_NffrFeUfNV2Hib/charges/42?x=1` → `/v1/customers/{id}/charges/{id}`; see `templatePath`. */
export function pathTemplate(path: string): string {
  let t = memo.get(path);
  if (t !== undefined) return t;
  t = templatePath(path);
  if (path.length <= MEMO_MAX_LENGTH && !path.includes('?') && !path.includes('#')) {
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(path, t);
  }
  return t;
}
