import type { IdentitySource } from '../policy/schema.js';

/** What Envoy told us about the caller, already extracted from the CheckRequest. */
export interface CallerFacts {
  /** `attributes.source.principal`: URI SAN, DNS SAN or Subject of the client certificate; empty without mTLS. */
  principal?: string;
  /** Raw `x-forwarded-client-cert` header. */
  xfcc?: string;
  /** Raw value of the configured signed identity header. */
  signedHeader?: string;
  /** `attributes.source.address.socket_address.address`. */
  sourceAddress?: string;
}

export interface ResolvedIdentity {
  /** Identity name from the policy, or `unknown`. */
  name: string;
  /** Which source produced it; undefined for `unknown`. */
  source?: IdentitySource;
  /** Why the signed header was rejected, when it was present but not trusted. */
  rejected?: string;
}

export const UNKNOWN: ResolvedIdentity = Object.freeze({ name: 'unknown' });
