import { z } from 'zod';

/** Detector ids: public API (findings, policies, metrics). */
export const DETECTOR_IDS = [
  'email',
  'phone',
  'credit_card',
  'us_ssn',
  'iban',
  'ipv4',
  'ipv6',
  'date_of_birth',
  'aws_access_key_id',
  'aws_secret_access_key',
  'github_token',
  'gitlab_token',
  'slack_token',
  'slack_webhook_url',
  'stripe_secret_key',
  'stripe_test_key',
  'google_api_key',
  'openai_api_key',
  'anthropic_api_key',
  'twilio_api_key',
  'sendgrid_api_key',
  'npm_token',
  'jwt',
  'private_key',
  'basic_auth',
  'bearer_token',
] as const;

export const SCRUB_ACTIONS = ['redact', 'mask', 'hash', 'block', 'allow'] as const;

export const detectorIdSchema = z.enum(DETECTOR_IDS);
export const scrubActionSchema = z.enum(SCRUB_ACTIONS);

export type DetectorId = z.infer<typeof detectorIdSchema>;
export type ScrubAction = z.infer<typeof scrubActionSchema>;

/** A policy's `scrub:` map: detector id → action; unknown ids are rejected with their name. */
export const scrubActionsSchema = z.partialRecord(detectorIdSchema, scrubActionSchema, {
  error: (iss) => {
    // zod's record issue type omits `unrecognized_keys`, which partialRecord does raise for unknown keys.
    const issue = iss as { code?: string; keys?: readonly string[] };
    return issue.code === 'unrecognized_keys'
      ? `unknown detector id(s): ${(issue.keys ?? []).join(', ')}; expected one of: ${DETECTOR_IDS.join(', ')}`
      : undefined;
  },
});

export type ScrubActions = z.infer<typeof scrubActionsSchema>;
export type ActionMap = Readonly<Record<DetectorId, ScrubAction>>;

/**
 * Defaults: scrub anything secret or personal; IP addresses are recorded only (they are routinely
 * legitimate in egress, e.g. X-Forwarded-For); Stripe test-mode keys move no money, so recorded only;
 * a private key leaving the network is never legitimate, so the request is blocked.
 */
export const DEFAULT_ACTIONS: ActionMap = Object.freeze({
  email: 'redact',
  phone: 'redact',
  credit_card: 'mask',
  us_ssn: 'redact',
  iban: 'mask',
  ipv4: 'allow',
  ipv6: 'allow',
  date_of_birth: 'redact',
  aws_access_key_id: 'redact',
  aws_secret_access_key: 'redact',
  github_token: 'redact',
  gitlab_token: 'redact',
  slack_token: 'redact',
  slack_webhook_url: 'redact',
  stripe_secret_key: 'redact',
  stripe_test_key: 'allow',
  google_api_key: 'redact',
  openai_api_key: 'redact',
  anthropic_api_key: 'redact',
  twilio_api_key: 'redact',
  sendgrid_api_key: 'redact',
  npm_token: 'redact',
  jwt: 'redact',
  private_key: 'block',
  basic_auth: 'redact',
  bearer_token: 'redact',
});

/** Overlay a partial policy map on the defaults (or on another full map). */
export function resolveActions(overrides?: ScrubActions, base: ActionMap = DEFAULT_ACTIONS): ActionMap {
  if (!overrides) return base;
  return Object.freeze({ ...base, ...overrides });
}

export function isDetectorId(value: string): value is DetectorId {
  return (DETECTOR_IDS as readonly string[]).includes(value);
}
