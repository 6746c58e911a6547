import type { CountryCode } from 'libphonenumber-js/max';
import type { DetectorId } from '../config.js';
import type { Detector } from './detector.js';
import { dobDetector } from './dob.js';
import { emailDetector } from './email.js';
import { ibanDetector } from './iban.js';
import { ipv6Detector } from './ip.js';
import { createNumericDetector } from './numeric.js';
import { awsAccessKeyIdDetector, awsSecretAccessKeyDetector } from './tokens/aws.js';
import { basicAuthDetector } from './tokens/basic-auth.js';
import { bearerDetector } from './tokens/bearer.js';
import { githubTokenDetector } from './tokens/github.js';
import { gitlabTokenDetector } from './tokens/gitlab.js';
import { jwtDetector } from './tokens/jwt.js';
import { privateKeyDetector } from './tokens/private-key.js';
import { slackTokenDetector, slackWebhookDetector } from './tokens/slack.js';
import { stripeDetector } from './tokens/stripe.js';
import {
  anthropicApiKeyDetector,
  googleApiKeyDetector,
  npmTokenDetector,
  openaiApiKeyDetector,
  sendgridApiKeyDetector,
  twilioApiKeyDetector,
} from './tokens/vendors.js';

/** Every detector family, for the enabled ids; families with no enabled id are left out entirely. */
export function buildDetectors(enabled: ReadonlySet<DetectorId>, phoneRegions: readonly CountryCode[], phoneParseBudget?: number): Detector[] {
  const all: Detector[] = [
    emailDetector,
    createNumericDetector({ enabled, phoneRegions, phoneParseBudget }),
    ibanDetector,
    ipv6Detector,
    dobDetector,
    awsAccessKeyIdDetector,
    awsSecretAccessKeyDetector,
    githubTokenDetector,
    gitlabTokenDetector,
    slackTokenDetector,
    slackWebhookDetector,
    stripeDetector,
    googleApiKeyDetector,
    openaiApiKeyDetector,
    anthropicApiKeyDetector,
    twilioApiKeyDetector,
    sendgridApiKeyDetector,
    npmTokenDetector,
    jwtDetector,
    privateKeyDetector,
    basicAuthDetector,
    bearerDetector,
  ];
  return all.filter((d) => d.ids.some((id) => enabled.has(id)));
}

export type { Detector } from './detector.js';
