import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { isValidIBAN, electronicFormatIBAN } from 'ibantools';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import ipaddr from 'ipaddr.js';
import { compileDetectors, scrubText } from '../../src/scrub/index.js';
import { issuerMatches } from '../../src/scrub/detectors/card.js';
import { ssnRulesValid } from '../../src/scrub/detectors/ssn.js';
import { DEFAULT_PHONE_REGIONS } from '../../src/scrub/detectors/phone.js';
import { luhnValid } from '../../src/scrub/validators/luhn.js';
import { fmt, prf, type Counts } from './quality-lib.js';

/**
 * Scores Tollgate on presidio-research's synth_dataset_v2 (an evaluation nobody here wrote).
 * Labelled values that fail their type's own validity rules (Luhn, mod-97, SSA rules,
 * phone metadata) are counted separately, not as misses.
 */
interface Item {
  full_text: string;
  spans: Array<{ entity_type: string; entity_value: string; start_position: number; end_position: number }>;
}

export const PRESIDIO_TYPES = ['email', 'phone', 'credit_card', 'iban', 'us_ssn', 'ip'];

const MAP: Record<string, string> = { EMAIL_ADDRESS: 'email', PHONE_NUMBER: 'phone', CREDIT_CARD: 'credit_card', IBAN_CODE: 'iban', US_SSN: 'us_ssn', IP_ADDRESS: 'ip' };

function valid(type: string, value: string): boolean {
  switch (type) {
    case 'credit_card': {
      const d = value.replace(/\D/g, '');
      return luhnValid(d) && issuerMatches(d);
    }
    case 'iban':
      return isValidIBAN(electronicFormatIBAN(value) ?? '');
    case 'us_ssn':
      return ssnRulesValid(value.replace(/\D/g, ''));
    case 'phone': {
      const v = value.replace(/x\d+$/, '');
      if (parsePhoneNumberFromString(v)?.isValid()) return true;
      return DEFAULT_PHONE_REGIONS.some((r) => parsePhoneNumberFromString(v, r)?.isValid());
    }
    case 'ip':
      return ipaddr.isValid(value);
    default:
      return true;
  }
}

export function loadPresidio(path = '/work/shared/data/presidio-research-synth_dataset_v2.json'): Item[] {
  return JSON.parse(readFileSync(path, 'utf8')) as Item[];
}

export interface PresidioSpan {
  type: string;
  start: number;
  end: number;
  valid: boolean;
}

/** In-scope labelled spans per item (IP_ADDRESS as `ip`, matching ipv4 or ipv6 findings). */
export function presidioSpans(item: Item): PresidioSpan[] {
  return item.spans
    .filter((s) => MAP[s.entity_type] !== undefined)
    .map((s) => {
      const type = MAP[s.entity_type]!;
      return { type, start: s.start_position, end: s.end_position, valid: valid(type, s.entity_value) };
    });
}

export function scorePresidio(items: Item[], predict: (text: string) => Array<{ type: string; start: number; end: number }>): { counts: Map<string, Counts>; invalid: Map<string, { labelled: number; found: number }>; outOfScopeFp: number } {
  const counts = new Map<string, Counts>();
  const invalid = new Map<string, { labelled: number; found: number }>();
  let outOfScopeFp = 0;
  const get = (t: string): Counts => {
    let c = counts.get(t);
    if (!c) counts.set(t, (c = { tp: 0, fp: 0, fn: 0 }));
    return c;
  };
  for (const item of items) {
    const labels = presidioSpans(item);
    const preds = predict(item.full_text).map((p) => ({ ...p, type: p.type === 'ipv4' || p.type === 'ipv6' ? 'ip' : p.type }));
    const used = new Set<number>();
    for (const p of preds) {
      const i = labels.findIndex((l, k) => !used.has(k) && l.type === p.type && l.start < p.end && p.start < l.end);
      if (i >= 0) {
        used.add(i);
        const l = labels[i]!;
        if (l.valid) get(l.type).tp++;
        else {
          const inv = invalid.get(l.type) ?? { labelled: 0, found: 0 };
          inv.found++;
          invalid.set(l.type, inv);
        }
        continue;
      }
      const overlapsOther = labels.some((l) => l.start < p.end && p.start < l.end && !l.valid);
      if (overlapsOther) continue; // a different-type reading of an invalid labelled value
      if (!PRESIDIO_TYPES.includes(p.type)) {
        // Types the dataset does not label (e.g. date_of_birth on a "born on" DATE_TIME span): listed, not scored.
        outOfScopeFp++;
        continue;
      }
      get(p.type).fp++;
    }
    labels.forEach((l, k) => {
      if (used.has(k)) return;
      if (l.valid) get(l.type).fn++;
      else {
        const inv = invalid.get(l.type) ?? { labelled: 0, found: 0 };
        invalid.set(l.type, inv);
      }
    });
    for (const l of labels) if (!l.valid) invalid.get(l.type)!.labelled++;
  }
  return { counts, invalid, outOfScopeFp };
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const items = loadPresidio();
  const set = compileDetectors({ fingerprintKey: 'bench' });
  const t0 = performance.now();
  const { counts, invalid, outOfScopeFp } = scorePresidio(items, (text) => scrubText(set, text).findings);
  const ms = performance.now() - t0;
  console.log(`presidio-research synth_dataset_v2: ${items.length} sentences in ${ms.toFixed(0)} ms`);
  console.log('type'.padEnd(14), 'tp'.padStart(5), 'fp'.padStart(5), 'fn'.padStart(5), 'precision'.padStart(10), 'recall'.padStart(8), '  invalid labelled (found)');
  const rows = PRESIDIO_TYPES.map((t) => {
    const c = counts.get(t) ?? { tp: 0, fp: 0, fn: 0 };
    const inv = invalid.get(t) ?? { labelled: 0, found: 0 };
    return { type: t, ...c, ...prf(c), invalidLabelled: inv.labelled, invalidFound: inv.found };
  });
  for (const r of rows) console.log(r.type.padEnd(14), String(r.tp).padStart(5), String(r.fp).padStart(5), String(r.fn).padStart(5), fmt(r.precision).padStart(10), fmt(r.recall).padStart(8), `  ${r.invalidLabelled} (${r.invalidFound})`);
  console.log(`findings of types the dataset does not label (not scored; e.g. date_of_birth after "born on"): ${outOfScopeFp}`);
  if (process.argv.includes('--misses')) {
    for (const item of items) {
      const f = scrubText(set, item.full_text).findings.map((x) => `${x.type}:${item.full_text.slice(x.start, x.end)}`);
      const l = presidioSpans(item).map((x) => `${x.type}${x.valid ? '' : '(invalid)'}:${item.full_text.slice(x.start, x.end)}`);
      if (JSON.stringify(f.map((s) => s.split(':').slice(1).join(':')).sort()) !== JSON.stringify(l.map((s) => s.split(':').slice(1).join(':')).sort())) console.log(JSON.stringify({ text: item.full_text.slice(0, 160), labels: l, found: f }));
    }
  }
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/scrub-presidio.json', JSON.stringify({ sentences: items.length, ms, perType: rows, outOfScopeFp }, null, 2) + '\n');
}
