import { isWithinDomain } from './destination.js';

/**
 * Where each credential type legitimately goes: its issuer's domains (a domain also covers its
 * subdomains). Types not listed (jwt, bearer_token, basic_auth, private_key) have no single issuer.
 */
export const TOKEN_ISSUER_DOMAINS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  github_token: ['github.com', 'githubusercontent.com'],
  gitlab_token: ['gitlab.com'],
  slack_token: ['slack.com'],
  slack_webhook_url: ['slack.com'],
  stripe_secret_key: ['stripe.com'],
  stripe_test_key: ['stripe.com'],
  openai_api_key: ['api.openai.com'],
  anthropic_api_key: ['api.anthropic.com'],
  google_api_key: ['googleapis.com'],
  aws_access_key_id: ['amazonaws.com'],
  aws_secret_access_key: ['amazonaws.com'],
  twilio_api_key: ['twilio.com'],
  sendgrid_api_key: ['sendgrid.com'],
  npm_token: ['registry.npmjs.org'],
});

export type IssuerTable = Readonly<Record<string, readonly string[]>>;

/** Built-in issuer domains plus a policy's extra domains per type (e.g. a GitHub Enterprise host). */
export function issuerTable(extra: Readonly<Record<string, readonly string[]>> = {}): IssuerTable {
  const out: Record<string, readonly string[]> = { ...TOKEN_ISSUER_DOMAINS };
  for (const [type, domains] of Object.entries(extra)) out[type] = [...(out[type] ?? []), ...domains.map((d) => d.toLowerCase())];
  return out;
}

/** undefined when the type has no known issuer; otherwise whether `host` belongs to it. */
export function belongsToIssuer(table: IssuerTable, type: string, host: string): boolean | undefined {
  const domains = table[type];
  if (!domains) return undefined;
  return domains.some((d) => isWithinDomain(host, d));
}
