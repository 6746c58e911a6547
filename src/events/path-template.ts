import { templatePath } from '../scrub/path.js';

/** `/v1/customers/cus_NffrFeUfNV2Hib/charges/42?x=1` → `/v1/customers/{id}/charges/{id}`; see `templatePath`. */
export function pathTemplate(path: string): string {
  return templatePath(path);
}
