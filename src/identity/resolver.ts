import type { Problem } from '../policy/problems.js';
import type { IdentitySource, PolicyDocument } from '../policy/schema.js';
import { CidrMatcher } from './cidr.js';
import { asList, PrincipalMatcher } from './patterns.js';
import { compileSignedHeader, type SignedHeaderVerifier } from './signed-header.js';
import { UNKNOWN, type CallerFacts, type ResolvedIdentity } from './types.js';
import { xfccPrincipal } from './xfcc.js';

export interface IdentityResolver {
  /** Name of the signed identity header (removed before the request leaves), if configured. */
  signedHeaderName: string | undefined;
  resolve(facts: CallerFacts): Promise<ResolvedIdentity>;
  /**
   * `resolve` without a promise when no signed header has to be verified to decide (the Check hot path): the same
   * answer, or undefined when the signed header must be verified first (then call `resolve`).
   */
  resolveNow(facts: CallerFacts): ResolvedIdentity | undefined;
  /**
   * The same, synchronously and from connection facts only (mTLS principal, XFCC, source address): for ext_proc
   * behind a gateway whose ext_authz is not Tollgate's, where no signed header was verified.
   */
  resolvePeer(facts: Omit<CallerFacts, 'signedHeader'>): ResolvedIdentity;
}

/** Compiles the identities of a policy into a resolver that tries the sources in the configured order. */
export function compileIdentityResolver(doc: PolicyDocument, problems: Problem[]): IdentityResolver {
  const spiffe = new PrincipalMatcher();
  const xfcc = new PrincipalMatcher();
  const signed = new Map<string, string>();
  const cidrs = new CidrMatcher();
  doc.identities.forEach((identity, i) => {
    for (const p of asList(identity.match.spiffe)) spiffe.add(p, identity.name);
    for (const p of asList(identity.match.xfcc)) xfcc.add(p, identity.name);
    for (const s of asList(identity.match.signedSubject)) if (!signed.has(s)) signed.set(s, identity.name);
    asList(identity.match.sourceCidr).forEach((c, j) => {
      const err = cidrs.add(c, identity.name);
      const path = Array.isArray(identity.match.sourceCidr) ? `identities[${i}].match.sourceCidr[${j}]` : `identities[${i}].match.sourceCidr`;
      if (err) problems.push({ path, message: err });
    });
  });
  const verifier: SignedHeaderVerifier | undefined = compileSignedHeader(doc, problems);
  if (signed.size > 0 && !verifier) problems.push({ path: 'signedHeader', message: 'identities match signedSubject but signedHeader is not configured' });

  const order: readonly IdentitySource[] = doc.identitySources;
  const peerName = (source: IdentitySource, facts: CallerFacts): string | undefined => {
    switch (source) {
      case 'mtls':
        return facts.principal ? spiffe.match(facts.principal) : undefined;
      case 'xfcc': {
        const principal = facts.xfcc ? xfccPrincipal(facts.xfcc) : undefined;
        return principal ? (xfcc.match(principal) ?? spiffe.match(principal)) : undefined;
      }
      case 'source_cidr':
        return facts.sourceAddress && cidrs.size > 0 ? cidrs.match(facts.sourceAddress) : undefined;
      default:
        return undefined;
    }
  };
  return {
    resolvePeer(facts) {
      for (const source of order) {
        const name = peerName(source, facts);
        if (name !== undefined) return { name, source };
      }
      return UNKNOWN;
    },
    signedHeaderName: verifier?.header,
    resolveNow(facts) {
      for (const source of order) {
        if (source === 'signed_header') {
          if (facts.signedHeader && verifier) return undefined;
          continue;
        }
        const name = peerName(source, facts);
        if (name !== undefined) return { name, source };
      }
      return UNKNOWN;
    },
    async resolve(facts: CallerFacts): Promise<ResolvedIdentity> {
      let rejected: string | undefined;
      for (const source of order) {
        let name: string | undefined;
        if (source !== 'signed_header') name = peerName(source, facts);
        else if (facts.signedHeader && verifier) {
          const result = await verifier.verify(facts.signedHeader);
          if (result.ok) name = signed.get(result.subject);
          else rejected = result.reason;
        }
        if (name !== undefined) return { name, source, rejected };
      }
      return rejected ? { ...UNKNOWN, rejected } : UNKNOWN;
    },
  };
}
