import { getPublicSuffix } from 'tldts';
import { z } from 'zod';
import { alertsSchema } from '../alerts/schema.js';
import { scrubActionsSchema } from '../scrub/config.js';
import { DEFAULT_PHONE_PARSE_BUDGET } from '../scrub/scan-budget.js';
import { parseIpLiteral } from './ip.js';

export const MODES = ['enforce', 'report'] as const;
export const modeSchema = z.enum(MODES);
export type Mode = z.infer<typeof modeSchema>;

export const IDENTITY_SOURCES = ['mtls', 'xfcc', 'signed_header', 'source_cidr'] as const;
export type IdentitySource = (typeof IDENTITY_SOURCES)[number];

const HOST_LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i;
const METHOD = /^[A-Z]+$/;

/** A destination host: exact name, leading wildcard `*.suffix`, or an IP literal (IPv6 in brackets or bare). */
export const hostSchema = z.string().min(1).superRefine((raw, ctx) => {
  const host = raw.endsWith('.') ? raw.slice(0, -1) : raw;
  if (host.includes('*')) {
    if (!host.startsWith('*.') || host.indexOf('*', 1) !== -1) {
      ctx.addIssue({ code: 'custom', message: 'wildcard must be a leading "*."' });
      return;
    }
    if (!host.slice(2).split('.').every((l) => HOST_LABEL.test(l)) || !host.slice(2).includes('.')) {
      ctx.addIssue({ code: 'custom', message: 'wildcard suffix must be a domain with at least two labels, e.g. "*.example.com"' });
      return;
    }
    const suffix = host.slice(2).toLowerCase();
    // Anyone can register a name under a public suffix, so a wildcard over one allows every stranger's host.
    if (getPublicSuffix(suffix, { allowPrivateDomains: true }) === suffix) {
      const icann = getPublicSuffix(suffix) === suffix;
      ctx.addIssue({ code: 'custom', message: `"${raw}" is a wildcard over the public suffix "${suffix}" (${icann ? 'a registry suffix' : "a provider's shared suffix"} in the Public Suffix List): anyone can register a host under it; name the hosts, or a wildcard under a domain you trust` });
    }
    return;
  }
  if (host.includes(':') || /^[0-9.]+$/.test(host) || /^0x[0-9a-f]+$/i.test(host)) {
    if (!parseIpLiteral(host)) ctx.addIssue({ code: 'custom', message: `"${raw}" is not a valid IP address` });
    return;
  }
  if (!host.split('.').every((l) => HOST_LABEL.test(l))) {
    ctx.addIssue({ code: 'custom', message: `"${raw}" is not a valid host name` });
  }
});

const pathPatternSchema = z
  .string()
  .min(1)
  .refine((p) => p.startsWith('/'), { message: 'path pattern must start with "/"' })
  .refine((p) => !/\*{3,}/.test(p), { message: 'use "*" (one segment) or "**" (any depth), not "***"' });

export const allowRuleSchema = z.strictObject({
  /** Stable id used in decisions and audit; defaults to the rule's path in the file. */
  id: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'id may contain letters, digits, "_", ".", ":" and "-"').optional(),
  host: hostSchema,
  scheme: z.enum(['https', 'http']).default('https'),
  port: z.union([z.number().int().min(1).max(65535), z.literal('*')]).optional(),
  methods: z.array(z.string().regex(METHOD, 'methods are upper-case HTTP method names')).min(1).optional(),
  paths: z.array(pathPatternSchema).min(1).optional(),
  mode: modeSchema.optional(),
});
export type AllowRule = z.infer<typeof allowRuleSchema>;

export const egressBlockSchema = z.strictObject({
  /** Identity name, or "*" for every identity (including `unknown`). */
  identity: z.string().min(1),
  mode: modeSchema.optional(),
  allow: z.array(allowRuleSchema).min(1),
});

const spiffePattern = z
  .string()
  .regex(/^spiffe:\/\/[^/*]+(\/[^*]*)?\*?$/, 'SPIFFE pattern must be "spiffe://trust-domain/path" with an optional trailing "*"')
  .refine((p) => !p.endsWith('*') || p.endsWith('/*'), { message: 'a wildcard must be a whole trailing segment: ".../*"' });

const cidrSchema = z.string().min(1);
const stringOrList = <T extends z.ZodType<string>>(s: T) => z.union([s, z.array(s).min(1)]);

export const identitySchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'identity names may contain letters, digits, "_", "." and "-"')
    .refine((n) => n !== 'unknown' && n !== '*', { message: '"unknown" and "*" are reserved' }),
  mode: modeSchema.optional(),
  match: z
    .strictObject({
      /** SPIFFE ID from the mTLS peer certificate (exact, or ending in "/*"). */
      spiffe: stringOrList(spiffePattern).optional(),
      /** Principal from x-forwarded-client-cert (URI, DNS or Subject of the nearest client), same pattern syntax as spiffe. */
      xfcc: stringOrList(z.string().min(1)).optional(),
      /** Subject of a verified signed identity header. */
      signedSubject: stringOrList(z.string().min(1)).optional(),
      sourceCidr: stringOrList(cidrSchema).optional(),
    })
    .refine((m) => Object.values(m).some((v) => v !== undefined), { message: 'match needs at least one of spiffe, xfcc, signedSubject, sourceCidr' }),
});
export type IdentityDef = z.infer<typeof identitySchema>;

const secretRef = z
  .strictObject({ value: z.string().min(16, 'secrets must be at least 16 characters').optional(), env: z.string().min(1).optional() })
  .refine((s) => (s.value === undefined) !== (s.env === undefined), { message: 'give exactly one of value or env' });
export type SecretRef = z.infer<typeof secretRef>;

export const signedHeaderSchema = z.strictObject({
  header: z.string().regex(/^[a-z0-9-]+$/, 'header names are lower-case').default('x-tollgate-identity'),
  /** HMAC-SHA256 tokens: `v1.<subject>.<expiry unix seconds>.<hex hmac>`. */
  hmac: z.strictObject({ secret: secretRef }).optional(),
  /** JWTs: `sub` is the subject. Keys: an HS256 secret or a PEM public key (RS256/ES256/EdDSA). */
  jwt: z
    .strictObject({
      secret: secretRef.optional(),
      publicKeyPem: z.string().includes('BEGIN PUBLIC KEY').optional(),
      issuer: z.string().optional(),
      audience: z.string().optional(),
    })
    .refine((j) => (j.secret === undefined) !== (j.publicKeyPem === undefined), { message: 'give exactly one of secret or publicKeyPem' })
    .optional(),
});

/**
 * What to scrub and how. Actions per detector id: `defaults` over Tollgate's built-in defaults, then
 * per identity, then per destination host (exact or "*.suffix"); the most specific wins.
 */
export const scrubSchema = z.strictObject({
  enabled: z.boolean().default(true),
  defaults: scrubActionsSchema.default({}),
  identities: z.record(z.string().min(1), scrubActionsSchema).default({}),
  destinations: z.record(hostSchema, scrubActionsSchema).default({}),
  /** Bodies up to this size are buffered and scanned whole; larger ones are streamed chunk by chunk. */
  bufferLimitBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  /** Most body bytes scanned in one request (streamed beyond bufferLimitBytes); a longer body is refused with 413. */
  maxBodyBytes: z.number().int().min(1024).max(16 * 1024 * 1024 * 1024).default(256 * 1024 * 1024),
  /**
   * libphonenumber parses one body (or stream) may spend; past it phone-shaped values are redacted by
   * shape alone, so a body padded with decoys stays cheap and cannot hide a phone (docs/scrubbing.md).
   */
  phoneParseBudget: z.number().int().min(0).max(1_000_000).default(DEFAULT_PHONE_PARSE_BUDGET),
  /** Key for `hash` and for fingerprints, so the same value gives the same token across restarts and replicas. */
  fingerprintKey: secretRef.optional(),
  /** Exact values never reported (a team's own test card, support address). */
  allowlist: z.array(z.string().min(1)).default([]),
});
export type ScrubPolicy = z.infer<typeof scrubSchema>;

export const policySchema = z.strictObject({
  version: z.literal(1),
  defaults: z
    .strictObject({
      mode: modeSchema.default('enforce'),
      /** Deny private, loopback, link-local, CGNAT and metadata destinations unless a rule names them. */
      ssrfProtection: z.boolean().default(true),
      /** Resolve hosts matched by wildcard rules and deny when they resolve into those ranges. */
      resolveWildcards: z.boolean().default(true),
    })
    .prefault({}),
  identitySources: z
    .array(z.enum(IDENTITY_SOURCES))
    .min(1)
    .refine((a) => new Set(a).size === a.length, { message: 'each identity source may appear once' })
    .default(['mtls', 'xfcc', 'signed_header', 'source_cidr']),
  signedHeader: signedHeaderSchema.optional(),
  identities: z.array(identitySchema).default([]),
  egress: z.array(egressBlockSchema).default([]),
  scrub: scrubSchema.prefault({}),
  alerts: alertsSchema.optional(),
});

export type PolicyDocument = z.infer<typeof policySchema>;
