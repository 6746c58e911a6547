/** Detector ids that find personal data; every other detector id finds a credential. */
export const PII_TYPES: ReadonlySet<string> = new Set(['email', 'phone', 'credit_card', 'us_ssn', 'iban', 'ipv4', 'ipv6', 'date_of_birth']);

export function isPiiType(type: string): boolean {
  return PII_TYPES.has(type);
}

/** A credential outside a header (JSON, form, query or raw body) ends up in logs and caches along the way. */
export function isOutsideHeader(where: string): boolean {
  return where.startsWith('json:') || where.startsWith('form:') || where.startsWith('query:') || where.startsWith('body:');
}
