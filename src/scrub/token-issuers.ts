import { DETECTOR_IDS, type DetectorId } from './config.js';
import { isPiiType } from './kinds.js';

/** True when `host` is `pattern`, or a subdomain of it when the pattern is `*.suffix`. */
export function hostMatches(host: string, pattern: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return host === pattern;
}

/**
 * Hosts each token type is meant for: exact names, or `*.suffix` for any subdomain. A token sent
 * anywhere else is flagged `foreign_destination`. Types without one issuer (jwt, bearer_token,
 * basic_auth, private_key) are absent and never flagged.
 */
export const TOKEN_ISSUERS: Readonly<Record<string, readonly string[]>> = {
  aws_access_key_id: ['amazonaws.com', '*.amazonaws.com', '*.amazonaws.com.cn', '*.aws.amazon.com', 'aws.amazon.com'],
  aws_secret_access_key: ['amazonaws.com', '*.amazonaws.com', '*.amazonaws.com.cn', '*.aws.amazon.com', 'aws.amazon.com'],
  github_token: ['github.com', 'api.github.com', '*.github.com', 'githubusercontent.com', '*.githubusercontent.com', 'ghcr.io'],
  gitlab_token: ['gitlab.com', '*.gitlab.com'],
  slack_token: ['slack.com', '*.slack.com'],
  slack_webhook_url: ['hooks.slack.com'],
  stripe_secret_key: ['api.stripe.com', 'files.stripe.com', 'connect.stripe.com', 'stripe.com', '*.stripe.com'],
  stripe_test_key: ['api.stripe.com', 'files.stripe.com', 'connect.stripe.com', 'stripe.com', '*.stripe.com'],
  google_api_key: ['googleapis.com', '*.googleapis.com', '*.google.com'],
  openai_api_key: ['api.openai.com', '*.openai.com', '*.openai.azure.com'],
  anthropic_api_key: ['api.anthropic.com', '*.anthropic.com'],
  twilio_api_key: ['api.twilio.com', '*.twilio.com'],
  sendgrid_api_key: ['api.sendgrid.com', '*.sendgrid.com', '*.sendgrid.net'],
  npm_token: ['registry.npmjs.org', '*.npmjs.org', 'npmjs.com', '*.npmjs.com'],
};

/** Every detector id that finds a credential rather than personal data. */
export const TOKEN_TYPES: readonly DetectorId[] = DETECTOR_IDS.filter((id) => !isPiiType(id));

/** Issuer hosts per type: the built-in table, extended per type (a self-hosted GitLab, an API gateway). */
export function issuerTable(extra: Readonly<Record<string, readonly string[]>> = {}): Readonly<Record<string, readonly string[]>> {
  const out: Record<string, readonly string[]> = { ...TOKEN_ISSUERS };
  for (const [type, hosts] of Object.entries(extra)) out[type] = [...(out[type] ?? []), ...hosts];
  return out;
}

/** True when a token of `type` sent to `host` went somewhere its issuer does not serve; false for types with no issuer. */
export function isForeignDestination(issuers: Readonly<Record<string, readonly string[]>>, type: string, host: string): boolean {
  const hosts = issuers[type];
  if (!hosts || hosts.length === 0) return false;
  return !hosts.some((p) => hostMatches(host, p));
}
