import { randomUUID } from 'node:crypto';
import { DETECTOR_IDS, type DetectorId } from '../../src/scrub/config.js';
import { luhnValid } from '../../src/scrub/validators/luhn.js';
import { ALNUM, B64, HEX, Rng } from './rng.js';
import { cardNumber, GENERATORS, identifierNegative, type Value } from './values.js';

export interface Span {
  type: DetectorId;
  start: number;
  end: number;
}

export interface Sample {
  id: string;
  text: string;
  content_type: string;
  spans: Span[];
  /** True for hard-negative samples (no sensitive value at all). */
  negative: boolean;
}

/** Builds a string while recording where labelled pieces land. */
class Builder {
  text = '';
  spans: Span[] = [];
  add(s: string): this {
    this.text += s;
    return this;
  }
  label(type: DetectorId, s: string): this {
    this.spans.push({ type, start: this.text.length, end: this.text.length + s.length });
    this.text += s;
    return this;
  }
}

const WORDS = 'the order was shipped yesterday and the customer asked about delivery times for the new plan please review attached invoice thanks team update status pending approved'.split(' ');

function prose(r: Rng, n: number): string {
  return Array.from({ length: n }, () => r.pick(WORDS)).join(' ');
}

/** Hard negatives: values that look sensitive to a naive regex but are not. */
export function hardNegative(r: Rng): { key: string; value: string; numeric?: boolean } {
  const kind = r.int(0, 23);
  // A quarter are digit groups inside longer identifiers, the shape behind most false phones.
  if (kind >= 18) return identifierNegative(r);
  switch (kind) {
    case 0:
      return { key: 'request_id', value: randomUUIDFrom(r) };
    case 1:
      return { key: 'sha256', value: r.chars(HEX, 64) };
    case 2:
      return { key: 'commit', value: r.chars(HEX, 40) };
    case 3: {
      let n: string;
      do n = r.pick(['4', '5', '37', '6011']) + r.digits(15);
      while (luhnValid(n.slice(0, 16)));
      return { key: 'order_number', value: n.slice(0, 16), numeric: true };
    }
    case 4:
      return { key: 'version', value: `${r.int(0, 20)}.${r.int(0, 30)}.${r.int(0, 200)}` };
    case 5:
      return { key: 'build', value: `${r.int(1, 12)}.${r.int(0, 9)}.${r.int(1000, 30000)}.${r.int(1, 999)}` };
    case 6:
      return { key: 'avatar', value: `data:image/png;base64,${r.chars(B64, r.int(200, 2000))}==` };
    case 7:
      return { key: 'created_at', value: new Date(1_600_000_000_000 + r.int(0, 1e11)).toISOString() };
    case 8:
      return { key: 'amount', value: `${r.int(1, 99999)}.${r.digits(2)}`, numeric: true };
    case 9:
      return { key: 'tracking', value: `1Z${r.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 16)}` };
    case 10:
      return { key: 'timestamp_ms', value: String(1_600_000_000_000 + r.int(0, 1e11)), numeric: true };
    case 11:
      return { key: 'example_key', value: r.pick(['AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'sk_live_xxxxxxxxxxxxxxxxxxxxxxxx', 'ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'YOUR_API_KEY', '${GITHUB_TOKEN}']) };
    case 12:
      return { key: 'image', value: `icon@2x.png` };
    case 13:
      return { key: 'md5', value: r.chars(HEX, 32) };
    case 14:
      return { key: 'sku', value: `SKU-${r.digits(6)}-${r.chars('ABCDEFGHJKLMNPQRSTUVWXYZ', 3)}` };
    case 15:
      return { key: 'zip', value: r.digits(5), numeric: true };
    case 16:
      return { key: 'range', value: `${r.int(1990, 2020)}-${r.int(2021, 2030)}` };
    default:
      return { key: 'nonce', value: r.chars(ALNUM, r.int(8, 14)) };
  }
}

function randomUUIDFrom(r: Rng): string {
  const h = r.chars(HEX, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

function jsonString(s: string): string {
  return JSON.stringify(s);
}

/** A realistic JSON API body with the given sensitive values under their usual keys, plus filler and hard negatives. */
function jsonBody(r: Rng, values: readonly Value[], negatives: number): { text: string; spans: Span[] } {
  const b = new Builder();
  b.add(`{"id":${jsonString(randomUUID())},"created_at":${jsonString(new Date(1_650_000_000_000 + r.int(0, 1e10)).toISOString())},"status":"${r.pick(['active', 'pending', 'closed'])}","count":${r.int(0, 500)}`);
  const fields: Array<() => void> = [];
  for (const v of values) {
    fields.push(() => {
      b.add(`,${jsonString(v.key)}:`);
      if (v.numeric && r.bool(0.3)) b.label(v.type, v.value.replace(/\D/g, ''));
      else {
        const enc = (x: string): string => jsonString(x).slice(1, -1);
        b.add(`"${enc(v.prefix ?? '')}`).label(v.type, enc(v.value)).add(`${enc(v.suffix ?? '')}"`);
      }
    });
  }
  for (let i = 0; i < negatives; i++) {
    const n = hardNegative(r);
    fields.push(() => b.add(`,${jsonString(n.key)}:${n.numeric ? n.value : jsonString(n.value)}`));
  }
  fields.push(() => b.add(`,"description":${jsonString(prose(r, r.int(5, 30)))}`));
  fields.push(() => b.add(`,"items":[{"sku":"A-${r.digits(5)}","qty":${r.int(1, 9)},"price":${r.int(1, 999)}.${r.digits(2)}}]`));
  for (let i = fields.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [fields[i], fields[j]] = [fields[j]!, fields[i]!];
  }
  for (const f of fields) f();
  b.add('}');
  return { text: b.text, spans: b.spans };
}

function formBody(r: Rng, values: readonly Value[], negatives: number): { text: string; spans: Span[] } {
  const b = new Builder();
  b.add(`action=${r.pick(['update', 'signup', 'checkout'])}&ts=${r.int(1e9, 2e9)}`);
  for (const v of values) {
    b.add(`&${encodeURIComponent(v.key)}=${encodeURIComponent(v.prefix ?? '')}`).label(v.type, encodeURIComponent(v.value)).add(encodeURIComponent(v.suffix ?? ''));
  }
  for (let i = 0; i < negatives; i++) {
    const n = hardNegative(r);
    b.add(`&${n.key}=${encodeURIComponent(n.value)}`);
  }
  b.add(`&comment=${encodeURIComponent(prose(r, r.int(3, 12)))}`);
  return { text: b.text, spans: b.spans };
}

function textBody(r: Rng, values: readonly Value[], negatives: number): { text: string; spans: Span[] } {
  const b = new Builder();
  b.add(`${prose(r, r.int(3, 15))}. `);
  for (const v of values) {
    b.add(`${v.phrase} ${v.prefix ?? ''}`).label(v.type, v.value).add(v.suffix ?? '').add(`${r.pick(['.', ' ', ';', ', thanks.', '\n'])} ${prose(r, r.int(0, 8))} `);
  }
  for (let i = 0; i < negatives; i++) {
    const n = hardNegative(r);
    b.add(`${n.key.replace(/_/g, ' ')} ${n.value} `);
  }
  return { text: b.text, spans: b.spans };
}

const SHAPES = [
  { ct: 'application/json', build: jsonBody },
  { ct: 'application/x-www-form-urlencoded', build: formBody },
  { ct: 'text/plain', build: textBody },
] as const;

/**
 * The labelled corpus: for every detector id `perType` samples holding one value of that id
 * (sometimes with a second value of another id), in JSON, form and text bodies, each also carrying
 * hard negatives; plus `negatives` samples holding hard negatives only.
 */
export function generateCorpus(seed = 42, perType = 120, negatives = 2000): Sample[] {
  const r = new Rng(seed);
  const out: Sample[] = [];
  for (const type of DETECTOR_IDS) {
    for (let i = 0; i < perType; i++) {
      const values = [GENERATORS[type](r)];
      if (r.bool(0.3)) values.push(GENERATORS[r.pick(DETECTOR_IDS)](r));
      const shape = r.pick(SHAPES);
      const { text, spans } = shape.build(r, values, r.int(0, 3));
      out.push({ id: `${type}-${i}`, text, content_type: shape.ct, spans, negative: false });
    }
  }
  for (let i = 0; i < negatives; i++) {
    const shape = r.pick(SHAPES);
    const { text, spans } = shape.build(r, [], r.int(2, 6));
    out.push({ id: `negative-${i}`, text, content_type: shape.ct, spans, negative: true });
  }
  return out;
}

export { cardNumber };
