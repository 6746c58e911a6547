import type { EgressEvent, EventFinding, ScrubEvent } from '../../events/types.js';
import { hostOf } from '../destination.js';
import { isOutsideHeader, isPiiType } from '../../scrub/kinds.js';
import type { TokenFlag } from '../schema.js';
import { isForeignDestination, issuerTable } from '../../scrub/token-issuers.js';
import type { AlertDraft } from '../types.js';
import { setBounded, type RuleEvaluator } from './rule.js';

export interface TokenMisuseParams {
  flags: readonly TokenFlag[];
  issuerDomains?: Readonly<Record<string, readonly string[]>>;
  /** Remembered fingerprints (default 100,000), least recently seen forgotten first. */
  maxTokens?: number;
}

interface TokenState {
  identities: Set<string>;
}

const MAX_IDENTITIES_PER_TOKEN = 100;

/**
 * Credential findings that look like misuse: one token used by several identities (sprawl), a token
 * sent to a host outside its issuer's domains (likely exfiltration), a token outside a header.
 * Tokens are known only by their keyed fingerprint.
 */
export class TokenMisuseRule implements RuleEvaluator {
  private readonly tokens = new Map<string, TokenState>();
  private readonly flags: ReadonlySet<TokenFlag>;
  private readonly issuers: ReturnType<typeof issuerTable>;
  private readonly maxTokens: number;

  constructor(params: TokenMisuseParams) {
    this.flags = new Set(params.flags);
    // Policy issuer domains cover their subdomains too.
    this.issuers = issuerTable(Object.fromEntries(Object.entries(params.issuerDomains ?? {}).map(([t, ds]) => [t, ds.flatMap((d) => [d, `*.${d}`])])));
    this.maxTokens = params.maxTokens ?? 100_000;
  }

  observe(event: EgressEvent, time: number, emit: (draft: AlertDraft) => void): void {
    if (event.kind !== 'scrub') return;
    for (const f of event.findings) {
      if (!isPiiType(f.type) && f.fingerprint) this.checkFinding(event, f, time, emit);
    }
  }

  private checkFinding(event: ScrubEvent, f: EventFinding, time: number, emit: (draft: AlertDraft) => void): void {
    const base = { identity: event.identity, destination: event.destination, token_type: f.type, fingerprint: f.fingerprint, where: whereKind(f.where), action: f.action };
    const state = this.tokens.get(f.fingerprint) ?? { identities: new Set<string>() };
    setBounded(this.tokens, f.fingerprint, state, this.maxTokens);
    const newIdentity = !state.identities.has(event.identity);
    if (newIdentity && state.identities.size < MAX_IDENTITIES_PER_TOKEN) state.identities.add(event.identity);

    if (this.flags.has('shared') && newIdentity && state.identities.size > 1) {
      emit({
        key: `shared|${f.fingerprint}`,
        time,
        severity: 'warning',
        title: `A ${f.type} is used by ${state.identities.size} identities (${[...state.identities].slice(0, 5).join(', ')})`,
        details: { ...base, flag: 'shared', identities: [...state.identities] },
      });
    }
    const host = hostOf(event.destination);
    if (this.flags.has('foreign_destination') && isForeignDestination(this.issuers, f.type, host)) {
      emit({
        key: `foreign_destination|${f.fingerprint}|${host}`,
        time,
        severity: 'critical',
        title: `A ${f.type} from ${event.identity} was sent to ${host}, outside its issuer's domains (${(this.issuers[f.type] ?? []).join(', ')})`,
        details: { ...base, flag: 'foreign_destination', issuer_domains: this.issuers[f.type] ?? [] },
      });
    }
    if (this.flags.has('outside_header') && isOutsideHeader(f.where)) {
      emit({
        key: `outside_header|${f.fingerprint}|${event.destination}`,
        time,
        severity: 'warning',
        title: `A ${f.type} from ${event.identity} to ${event.destination} was sent in the ${whereKind(f.where)}, not in a header`,
        details: { ...base, flag: 'outside_header' },
      });
    }
  }
}

/** `json:$.a.b` → `json body`: the kind of place only, so no field names chosen by the caller leak into alerts. */
function whereKind(where: string): string {
  const kind = where.slice(0, where.indexOf(':') === -1 ? undefined : where.indexOf(':'));
  switch (kind) {
    case 'header':
      return 'header';
    case 'json':
      return 'json body';
    case 'form':
      return 'form body';
    case 'query':
      return 'query string';
    case 'body':
      return 'body';
    default:
      return kind;
  }
}
