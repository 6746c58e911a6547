import { Metadata, type CountryCode } from 'libphonenumber-js/max';

/**
 * Which regions a grouped national number (digits only, no `+`) could possibly be valid in, from
 * libphonenumber's own metadata, so the phone check parses it only there instead of in every
 * configured region (each parse ~10–30 µs; 14 regions by default).
 *
 * A parse of digits W with default region R is valid only if its national significant number has
 * one of the possible lengths of a country sharing R's calling code, and that number is W, or W less
 * a national prefix matched by R's `nationalPrefixForParsing` (libphonenumber-js
 * `extractNationalNumberFromPossiblyIncompleteNumber`). Everything this cannot bound is never pruned:
 * W that starts with R's IDD prefix or calling code (parsed as international), and regions whose
 * prefix pattern has quantifiers or a transform rule (e.g. Argentina, Brazil).
 */
interface RegionGate {
  region: CountryCode;
  /** Possible national number lengths of every country with this calling code. */
  lengths: ReadonlySet<number>;
  /** Lengths a national prefix match can have (0: none stripped). */
  prefixLengths: readonly number[];
  idd: RegExp | undefined;
  callingCode: string;
}

/** Every length a quantifier-free pattern of digits, classes, groups and `|` can match; undefined otherwise. */
export function patternLengths(pattern: string): ReadonlySet<number> | undefined {
  let i = 0;
  const alt = (): Set<number> | undefined => {
    const out = new Set<number>();
    for (;;) {
      let seq = new Set([0]);
      while (i < pattern.length && pattern[i] !== '|' && pattern[i] !== ')') {
        let atom: Set<number> | undefined;
        const c = pattern[i]!;
        if (c >= '0' && c <= '9') {
          atom = new Set([1]);
          i++;
        } else if (c === '[') {
          const close = pattern.indexOf(']', i);
          if (close === -1 || !/^\[[0-9-]+\]$/.test(pattern.slice(i, close + 1))) return undefined;
          atom = new Set([1]);
          i = close + 1;
        } else if (c === '(') {
          i += pattern.startsWith('(?:', i) ? 3 : 1;
          atom = alt();
          if (atom === undefined || pattern[i] !== ')') return undefined;
          i++;
        } else return undefined;
        const q = pattern[i];
        if (q === '?' || q === '*' || q === '+' || q === '{') return undefined;
        const next = new Set<number>();
        for (const a of seq) for (const b of atom) next.add(a + b);
        seq = next;
      }
      for (const n of seq) out.add(n);
      if (pattern[i] !== '|') return out;
      i++;
    }
  };
  const lengths = alt();
  return lengths !== undefined && i === pattern.length ? lengths : undefined;
}

function gateFor(metadata: InstanceType<typeof Metadata>, region: CountryCode): RegionGate | undefined {
  // The class is typed loosely in libphonenumber-js; these are its documented metadata accessors.
  const md = metadata as unknown as {
    selectNumberingPlan(c: string): void;
    numberingPlan: { callingCode(): string; IDDPrefix(): string | undefined; nationalPrefixForParsing(): string | undefined; nationalPrefixTransformRule(): string | undefined; possibleLengths(): number[] | undefined };
    getCountryCodesForCallingCode(cc: string): string[] | undefined;
  };
  md.selectNumberingPlan(region);
  const plan = md.numberingPlan;
  const callingCode = plan.callingCode();
  if (plan.nationalPrefixTransformRule()) return undefined;
  const npPattern = plan.nationalPrefixForParsing();
  const prefixLengths = npPattern ? patternLengths(npPattern) : new Set<number>();
  if (prefixLengths === undefined) return undefined;
  const lengths = new Set<number>();
  for (const country of md.getCountryCodesForCallingCode(callingCode) ?? [region]) {
    md.selectNumberingPlan(country);
    const own = md.numberingPlan.possibleLengths();
    if (own === undefined || own.length === 0) return undefined;
    for (const n of own) lengths.add(n);
  }
  const idd = plan.IDDPrefix();
  return { region, lengths, prefixLengths: [0, ...prefixLengths], idd: idd ? new RegExp(`^(?:${idd})`) : undefined, callingCode };
}

/** A predicate per region list: may the national digits `written` be a valid number of `region`? */
export function createRegionFilter(regions: readonly CountryCode[]): (region: CountryCode, written: string) => boolean {
  // The CommonJS build of libphonenumber-js/max does not export Metadata: parse in every region there.
  if (typeof Metadata !== 'function') return () => true;
  const metadata = new Metadata();
  const gates = new Map<CountryCode, RegionGate | undefined>();
  for (const r of regions) gates.set(r, gateFor(metadata, r));
  return (region, written) => {
    const g = gates.get(region);
    if (g === undefined) return true;
    if (written.startsWith(g.callingCode) || g.idd?.test(written)) return true;
    for (const k of g.prefixLengths) if (g.lengths.has(written.length - k)) return true;
    return false;
  };
}
