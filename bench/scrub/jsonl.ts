import { jsonBodyOfSize } from './bodies.js';
import { generateCorpus, hardNegative } from './corpus.js';
import { HEX, Rng } from './rng.js';
import { GENERATORS } from './values.js';
import { DETECTOR_IDS } from '../../src/scrub/config.js';

const WORDS = 'the order was shipped yesterday and customer asked about delivery times for new plan please review attached invoice thanks team update status pending approved retry timeout upstream cache miss'.split(' ');

function prose(r: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += (i ? ' ' : '') + r.pick(WORDS);
  return s;
}

function logLines(r: Rng, pii: boolean): string {
  const lines: string[] = [];
  const n = r.int(3, 15);
  for (let i = 0; i < n; i++) {
    const ts = new Date(1_700_000_000_000 + r.int(0, 1e9)).toISOString();
    let line = `${ts} ${r.pick(['INFO', 'INFO', 'WARN', 'DEBUG'])} service=${r.pick(['checkout', 'billing', 'search'])} request_id=${r.chars(HEX, 8)}-${r.chars(HEX, 4)} latency_ms=${r.int(1, 900)} path=/v1/orders/${r.int(1, 99999)} status=${r.pick([200, 201, 404, 500])} msg="${prose(r, r.int(4, 14))}"`;
    if (pii && r.bool(0.3)) {
      const v = GENERATORS[r.pick(DETECTOR_IDS)](r);
      line += ` ${v.phrase} ${v.prefix ?? ''}${v.value}${v.suffix ?? ''}`;
    }
    lines.push(line);
  }
  return lines.join('\n');
}

function form(r: Rng, pii: boolean): string {
  const fields = [`page=${r.int(1, 50)}`, `sort=${r.pick(['asc', 'desc'])}`, `q=${encodeURIComponent(prose(r, r.int(1, 4)))}`, `session_ref=${r.chars(HEX, 16)}`];
  if (pii) {
    const v = GENERATORS[r.pick(['email', 'phone', 'credit_card', 'iban'] as const)](r);
    fields.push(`${v.key}=${encodeURIComponent(v.value)}`);
  }
  return fields.join('&');
}

/**
 * About `bytes` of JSONL in the `tollgate scan --jsonl` input shape, mixed like an export of
 * captured traffic: JSON API bodies (most clean), log excerpts, prose with hard negatives, form
 * bodies, and one line in ten from the labelled quality corpus (dense with values). Seeded.
 */
export function mixedJsonl(bytes: number, seed = 11): string {
  const r = new Rng(seed);
  const corpus = generateCorpus(seed, 20, 400);
  const out: string[] = [];
  let size = 0;
  let id = 0;
  while (size < bytes) {
    const kind = r.int(0, 99);
    let rec: { id: number; text: string; content_type?: string };
    if (kind < 35) rec = { id, text: jsonBodyOfSize(r.int(600, 3000), r.bool(0.3), id), content_type: 'application/json' };
    else if (kind < 60) rec = { id, text: logLines(r, r.bool(0.3)), content_type: 'text/plain' };
    else if (kind < 80) {
      const neg = hardNegative(r);
      rec = { id, text: `${prose(r, r.int(10, 60))} ${neg.key}: ${neg.value}. ${prose(r, r.int(5, 30))}` };
    } else if (kind < 90) rec = { id, text: form(r, r.bool(0.3)), content_type: 'application/x-www-form-urlencoded' };
    else {
      const s = corpus[r.int(0, corpus.length - 1)]!;
      rec = { id, text: s.text, content_type: s.content_type };
    }
    const line = JSON.stringify(rec);
    out.push(line);
    size += Buffer.byteLength(line) + 1;
    id++;
  }
  return out.join('\n') + '\n';
}
