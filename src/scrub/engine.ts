import type { CountryCode } from 'libphonenumber-js/max';
import { DEFAULT_ACTIONS, DETECTOR_IDS, resolveActions, type ActionMap, type DetectorId, type ScrubActions } from './config.js';
import { buildDetectors, type Detector } from './detectors/index.js';
import { DEFAULT_PHONE_REGIONS } from './detectors/phone.js';
import { createFingerprinter, type Fingerprinter } from './fingerprint.js';
import { Prefilter } from './prefilter.js';
import { DEFAULT_PHONE_PARSE_BUDGET, ScanBudget } from './scan-budget.js';
import type { Finding, FindingLocation, Match, ScanContext } from './types.js';

export interface CompileOptions {
  /** Per-type actions over DEFAULT_ACTIONS (a policy's `scrub:` map). */
  actions?: ScrubActions;
  /** Detector ids to run; all of DETECTOR_IDS by default. */
  detectors?: readonly DetectorId[];
  /** HMAC key for fingerprints and `hash`; a random per-process key when absent. */
  fingerprintKey?: string | Uint8Array;
  /** Regions tried for phone numbers written without a country code. */
  phoneRegions?: readonly CountryCode[];
  /** Exact values that are never reported (e.g. a team's own test card or support address). */
  allowlist?: readonly string[];
  /** false runs every family over the whole text, anchors or not: the reference the prefilter is tested against. */
  prefilter?: boolean;
  /**
   * 'hash-only': findings carry a fingerprint only when their action is `hash` (it is the replacement),
   * else ''. For callers that never report fingerprints (`tollgate scan --jsonl`): no HMAC per finding.
   */
  fingerprints?: 'all' | 'hash-only';
  /**
   * libphonenumber parses one scan (a body, a stream, or one `scanText`/`match` call) may spend
   * (DEFAULT_PHONE_PARSE_BUDGET); past it, phone-shaped candidates are redacted by shape alone.
   */
  phoneParseBudget?: number;
}

export interface ScanOptions {
  context?: ScanContext;
  location?: FindingLocation;
  /** Full action map for this call (e.g. per identity/destination), from `resolveActions`. */
  actions?: ActionMap;
}

const TEXT_LOCATION: FindingLocation = Object.freeze({ kind: 'text' });

/** A compiled detector set: build once at policy load, then scan many bodies. */
export class DetectorSet {
  readonly actions: ActionMap;
  readonly enabled: ReadonlySet<DetectorId>;
  /** Longest span one finding can cover; the streaming scanner carries this many chars across chunks. */
  readonly maxMatchLength: number;
  readonly fingerprint: Fingerprinter;
  private readonly detectors: readonly Detector[];
  private readonly prefilter: Prefilter | undefined;
  private readonly priority: ReadonlyMap<DetectorId, number>;
  private readonly familyOf: ReadonlyMap<DetectorId, number>;
  private readonly allowlist: ReadonlySet<string>;
  private readonly hashOnly: boolean;
  readonly phoneParseBudget: number;

  constructor(opts: CompileOptions = {}) {
    this.actions = resolveActions(opts.actions, DEFAULT_ACTIONS);
    this.enabled = new Set(opts.detectors ?? DETECTOR_IDS);
    const phoneParseBudget = opts.phoneParseBudget ?? DEFAULT_PHONE_PARSE_BUDGET;
    if (!Number.isInteger(phoneParseBudget) || phoneParseBudget < 0) throw new Error(`phoneParseBudget must be a non-negative integer, got ${phoneParseBudget}`);
    this.phoneParseBudget = phoneParseBudget;
    this.detectors = buildDetectors(this.enabled, opts.phoneRegions ?? DEFAULT_PHONE_REGIONS, phoneParseBudget);
    this.prefilter = opts.prefilter === false ? undefined : new Prefilter(this.detectors);
    this.maxMatchLength = Math.max(...this.detectors.map((d) => d.maxLength), 64);
    this.fingerprint = createFingerprinter(opts.fingerprintKey);
    const priority = new Map<DetectorId, number>();
    const familyOf = new Map<DetectorId, number>();
    this.detectors.forEach((d, i) => {
      for (const id of d.ids) {
        priority.set(id, d.priority);
        familyOf.set(id, i);
      }
    });
    this.priority = priority;
    this.familyOf = familyOf;
    this.allowlist = new Set(opts.allowlist ?? []);
    this.hashOnly = opts.fingerprints === 'hash-only';
  }

  /** A fresh budget for one scan (one body or one stream). */
  newBudget(): ScanBudget {
    return new ScanBudget(this.phoneParseBudget);
  }

  /** `opts` with a scan budget in its context: the given one, or a new one for this scan. */
  budgeted(opts: ScanOptions): ScanOptions & { context: ScanContext & { budget: ScanBudget } } {
    const budget = opts.context?.budget;
    if (budget !== undefined) return opts as ScanOptions & { context: ScanContext & { budget: ScanBudget } };
    return { ...opts, context: { ...opts.context, budget: this.newBudget() } };
  }

  /**
   * Raw matches in `text`, non-overlapping and sorted by start. Internal: matches point at raw
   * values; callers outside src/scrub should use `scanText`. `families` restricts the run to
   * detector families already known to hit (used by the JSON scanner's second pass).
   */
  match(text: string, ctx: ScanContext = {}, families?: ReadonlySet<number>): Match[] {
    const out: Match[] = [];
    if (text.length === 0) return out;
    const first = this.prefilter?.firstPositions(text);
    for (let i = 0; i < this.detectors.length; i++) {
      if (families !== undefined && !families.has(i)) continue;
      const d = this.detectors[i]!;
      let from = first === undefined ? 0 : first[i]!;
      if (from === -1 && d.anchors.length === 0) from = 0;
      if (from === -1 && ctx.key !== undefined && d.keyGate?.(ctx.key)) from = 0;
      if (from === -1) continue;
      d.find(text, from, ctx, out);
    }
    return this.resolve(text, out);
  }

  /** Families of the given matches (for a restricted re-scan). */
  familiesOf(matches: readonly Match[]): Set<number> {
    const s = new Set<number>();
    for (const m of matches) s.add(this.familyOf.get(m.type)!);
    return s;
  }

  /** Findings in `text`: type, UTF-16 offsets, location, action and keyed fingerprint, never the value. */
  scanText(text: string, opts: ScanOptions = {}): Finding[] {
    return this.toFindings(text, this.match(text, opts.context), opts);
  }

  toFindings(text: string, matches: readonly Match[], opts: ScanOptions = {}, offset = 0): Finding[] {
    const actions = opts.actions ?? this.actions;
    const location = opts.location ?? TEXT_LOCATION;
    return matches.map((m) => {
      const action = actions[m.type];
      return {
        type: m.type,
        start: m.start + offset,
        end: m.end + offset,
        location,
        action,
        fingerprint: this.hashOnly && action !== 'hash' ? '' : this.fingerprint(m.type, m.normalized ?? text.slice(m.start, m.end)),
      };
    });
  }

  /** Drop disabled and allowlisted matches, then keep the higher-priority (then longer) of overlapping ones. */
  private resolve(text: string, matches: Match[]): Match[] {
    if (matches.length === 0) return matches;
    const kept = matches.filter(
      (m) => this.enabled.has(m.type) && !(this.allowlist.size > 0 && (this.allowlist.has(text.slice(m.start, m.end)) || (m.normalized !== undefined && this.allowlist.has(m.normalized)))),
    );
    if (kept.length < 2) return kept;
    kept.sort((a, b) => a.start - b.start || b.end - a.end);
    // Overlaps are rare: sweep into clusters of chained overlaps and arbitrate only inside each.
    const out: Match[] = [];
    let i = 0;
    while (i < kept.length) {
      let j = i + 1;
      let clusterEnd = kept[i]!.end;
      while (j < kept.length && kept[j]!.start < clusterEnd) clusterEnd = Math.max(clusterEnd, kept[j++]!.end);
      if (j === i + 1) out.push(kept[i]!);
      else for (const m of this.arbitrate(kept.slice(i, j))) out.push(m);
      i = j;
    }
    return out;
  }

  private arbitrate(cluster: Match[]): Match[] {
    cluster.sort((a, b) => this.priority.get(b.type)! - this.priority.get(a.type)! || b.end - b.start - (a.end - a.start) || a.start - b.start);
    const accepted: Match[] = [];
    for (const m of cluster) {
      if (!accepted.some((a) => a.start < m.end && m.start < a.end)) accepted.push(m);
    }
    return accepted.sort((a, b) => a.start - b.start);
  }
}

export function compileDetectors(opts: CompileOptions = {}): DetectorSet {
  return new DetectorSet(opts);
}
