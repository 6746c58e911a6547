import { z } from 'zod';
import { durationSchema } from './duration.js';

const NAME = /^[A-Za-z0-9_.:-]+$/;
const nameSchema = z.string().regex(NAME, 'names may contain letters, digits, "_", ".", ":" and "-"');

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export const severitySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof severitySchema>;

export const RULE_TYPES = ['new_destination', 'denied', 'pii_to_new_destination', 'token_misuse', 'volume_spike'] as const;
export type RuleType = (typeof RULE_TYPES)[number];

export const TOKEN_FLAGS = ['shared', 'foreign_destination', 'outside_header'] as const;
export type TokenFlag = (typeof TOKEN_FLAGS)[number];

const secretRefSchema = z
  .strictObject({ value: z.string().min(16, 'secrets must be at least 16 characters').optional(), env: z.string().min(1).optional() })
  .refine((s) => (s.value === undefined) !== (s.env === undefined), { message: 'give exactly one of value or env' });

export const sinkSchema = z.strictObject({
  name: nameSchema,
  /** `webhook`: the alert as JSON; `slack`: a Slack incoming-webhook message (`{text, blocks}`). */
  type: z.enum(['webhook', 'slack'], { error: 'sink type must be "webhook" or "slack"' }),
  url: z.url({ protocol: /^https?$/, error: 'url must be an http(s) URL' }),
  /** Signs each delivery: `x-tollgate-signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` and `x-tollgate-timestamp`. */
  secret: secretRefSchema.optional(),
  timeoutMs: z.number().int().min(1).max(120_000).default(5_000),
  /** Token bucket: at most this many alerts per minute (bursts up to the same number); the rest are dead-lettered as rate limited. */
  maxPerMinute: z.number().int().min(1).max(100_000).default(60),
});
export type SinkConfig = z.infer<typeof sinkSchema>;

const ruleBase = {
  name: nameSchema,
  sinks: z.array(nameSchema).min(1, 'name at least one sink'),
  /** Repeats of the same (rule, key) inside this window are counted on the first alert, not delivered again. */
  dedupWindow: durationSchema.default(600_000),
  severity: severitySchema.optional(),
};

const newDestinationRule = z.strictObject({
  ...ruleBase,
  type: z.literal('new_destination'),
  /** Pairs seen during this period (from the first event the rule sees) are learned silently. */
  learningPeriod: durationSchema.default(86_400_000),
});

const piiToNewDestinationRule = z.strictObject({
  ...ruleBase,
  type: z.literal('pii_to_new_destination'),
  learningPeriod: durationSchema.default(86_400_000),
});

const deniedRule = z.strictObject({
  ...ruleBase,
  type: z.literal('denied'),
  /** Alert when an identity has more than `threshold` denials within `window`. */
  threshold: z.number().int().min(1).default(10),
  window: durationSchema.default(300_000),
  /** Count report-mode denials (`report_deny`) too. */
  includeReport: z.boolean().default(true),
});

const tokenMisuseRule = z.strictObject({
  ...ruleBase,
  type: z.literal('token_misuse'),
  flags: z.array(z.enum(TOKEN_FLAGS)).min(1).default([...TOKEN_FLAGS]),
  /** Extra issuer domains per token type, added to the built-in table (e.g. `github_token: [github.example.com]`). */
  issuerDomains: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).default({}),
});

/**
 * Per (identity, destination): the metric is summed in fixed windows; each closed window updates an
 * EWMA baseline (alpha = 1 - 2^(-window/halfLife); empty windows count as zero). Once `minSamples`
 * windows have been seen, the current window alerts when it exceeds factor × max(baseline, minBaseline).
 */
const volumeSpikeRule = z.strictObject({
  ...ruleBase,
  type: z.literal('volume_spike'),
  /** `bytes`: request plus response bytes from access logs; `requests`: decisions. */
  metric: z.enum(['bytes', 'requests']),
  factor: z.number().gt(1, 'factor must be greater than 1').default(5),
  /** Floor under the baseline, so a near-silent pair does not alert on a handful of requests. */
  minBaseline: z.number().min(0).default(0),
  minSamples: z.number().int().min(1).default(6),
  halfLife: durationSchema.default(3_600_000),
  window: durationSchema.default(300_000),
});

export const ruleSchema = z.discriminatedUnion('type', [newDestinationRule, deniedRule, piiToNewDestinationRule, tokenMisuseRule, volumeSpikeRule], {
  error: (iss) => (iss.code === 'invalid_union' ? `rule type must be one of: ${RULE_TYPES.join(', ')}` : undefined),
});
export type RuleConfig = z.infer<typeof ruleSchema>;

export const retrySchema = z
  .strictObject({
    /** Total attempts per delivery, the first included. */
    attempts: z.number().int().min(1).max(20).default(5),
    baseMs: z.number().int().min(1).default(500),
    maxMs: z.number().int().min(1).default(30_000),
  })
  .refine((r) => r.maxMs >= r.baseMs, { message: 'maxMs must be at least baseMs', path: ['maxMs'] });
export type RetryConfig = z.infer<typeof retrySchema>;

/** The policy file's `alerts:` section. */
export const alertsSchema = z
  .strictObject({
    sinks: z.array(sinkSchema).default([]),
    rules: z.array(ruleSchema).default([]),
    retry: retrySchema.prefault({}),
  })
  .superRefine(
    (cfg, ctx) => {
      // Runs even when other parts failed, so a bad sink URL and a dangling sink name are reported together.
      const sinks: unknown[] = Array.isArray(cfg.sinks) ? cfg.sinks : [];
      const rules: unknown[] = Array.isArray(cfg.rules) ? cfg.rules : [];
      const sinkNames = new Set<string>();
      sinks.forEach((s, i) => {
        const name = nameOf(s);
        if (name === undefined) return;
        if (sinkNames.has(name)) ctx.addIssue({ code: 'custom', message: `duplicate sink name "${name}"`, path: ['sinks', i, 'name'] });
        sinkNames.add(name);
      });
      const ruleNames = new Set<string>();
      rules.forEach((r, i) => {
        const name = nameOf(r);
        if (name !== undefined) {
          if (ruleNames.has(name)) ctx.addIssue({ code: 'custom', message: `duplicate rule name "${name}"`, path: ['rules', i, 'name'] });
          ruleNames.add(name);
        }
        const used = (r as { sinks?: unknown } | null)?.sinks;
        if (!Array.isArray(used)) return;
        used.forEach((s: unknown, j) => {
          if (typeof s !== 'string' || sinkNames.has(s)) return;
          const known = sinkNames.size ? `; sinks are: ${[...sinkNames].join(', ')}` : '; define it under alerts.sinks';
          ctx.addIssue({ code: 'custom', message: `unknown sink "${s}"${known}`, path: ['rules', i, 'sinks', j] });
        });
      });
    },
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
  );
export type AlertsConfig = z.infer<typeof alertsSchema>;
export type AlertsConfigInput = z.input<typeof alertsSchema>;

function nameOf(item: unknown): string | undefined {
  const name = (item as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : undefined;
}
