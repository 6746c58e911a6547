import { createHash } from 'node:crypto';
import { isAlias, isScalar, parseDocument, type Node, type Scalar } from 'yaml';
import { parsePolicyText, POLICY_LIMITS, type ParseResult, type PolicyLimits } from './parse.js';
import { formatPath, type Problem } from './problems.js';

type Path = Array<string | number>;

const PLACEHOLDER = /^<redacted sha256:([0-9a-f]{12})>$/;

/** `sha256:<12 hex>` of a secret: enough to tell two secrets apart in an answer, not to recover one. */
export function secretFingerprint(value: string): string {
  return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 12)}`;
}

/** What an API answer shows instead of an inline secret; a PUT that sends it back keeps the stored secret. */
export function secretPlaceholder(value: string): string {
  return `<redacted ${secretFingerprint(value)}>`;
}

/** Every inline secret (`secret: { value }`) in a policy document, by path; `env:` references are not secrets. */
export function inlineSecrets(document: unknown): Array<{ path: Path; value: string }> {
  const out: Array<{ path: Path; value: string }> = [];
  const take = (path: Path) => {
    const v = getIn(document, path);
    if (typeof v === 'string') out.push({ path, value: v });
  };
  take(['signedHeader', 'hmac', 'secret', 'value']);
  take(['signedHeader', 'jwt', 'secret', 'value']);
  take(['scrub', 'fingerprintKey', 'value']);
  const sinks = getIn(document, ['alerts', 'sinks']);
  if (Array.isArray(sinks)) sinks.forEach((_s, i) => take(['alerts', 'sinks', i, 'secret', 'value']));
  return out;
}

/**
 * The policy text with each inline secret replaced by its placeholder; everything else (comments, layout) kept
 * byte for byte. Secrets written verbatim (plain or simply quoted: the usual case) are replaced wherever they
 * appear, in linear time on the event loop; only an escaped or folded spelling needs the YAML document.
 */
export function redactPolicyText(text: string, document: unknown): string {
  const secrets = inlineSecrets(document).filter((s) => s.value !== '');
  if (secrets.length === 0) return text;
  let out = text;
  const spelledOtherwise: typeof secrets = [];
  for (const s of secrets) {
    if (out.includes(s.value)) out = out.split(s.value).join(secretPlaceholder(s.value));
    else spelledOtherwise.push(s);
  }
  if (spelledOtherwise.length === 0) return out;
  const doc = parseDocument(out, { uniqueKeys: false });
  const edits = new Map<number, { end: number; value: string }>();
  for (const { path, value } of spelledOtherwise) {
    const node = sourceNode(doc, path);
    if (!node?.range || node.value !== value) return WITHHELD;
    edits.set(node.range[0], { end: node.range[1], value: secretPlaceholder(value) });
  }
  for (const start of [...edits.keys()].sort((a, b) => b - a)) {
    const e = edits.get(start)!;
    out = `${out.slice(0, start)}${JSON.stringify(e.value)}${out.slice(e.end)}`;
  }
  return out;
}

// Fail closed: a secret no edit could reach means the answer must not carry the text at all.
const WITHHELD = '# policy text withheld: it holds an inline secret that could not be redacted\n';

export type RestoreResult = { ok: true; text: string; document: unknown } | { ok: false; problems: Problem[] };

/**
 * Puts stored secrets back where a client sent their placeholders (the GET → edit → PUT round trip).
 * A placeholder at a path where this server holds no secret with that fingerprint is refused.
 */
export function restoreSecrets(text: string, document: unknown, known: ReadonlyMap<string, string>): RestoreResult {
  const wanted = inlineSecrets(document).filter((s) => PLACEHOLDER.test(s.value));
  if (wanted.length === 0) return { ok: true, text, document };
  const problems: Problem[] = [];
  for (const w of wanted) {
    const fp = `sha256:${PLACEHOLDER.exec(w.value)![1]}`;
    const secret = known.get(fp);
    if (secret === undefined) problems.push({ path: formatPath(w.path), message: `"${w.value}" stands for a secret this server does not hold; send the secret itself (or an env reference)` });
    else w.value = secret;
  }
  if (problems.length > 0) return { ok: false, problems };
  const doc = parseDocument(text, { uniqueKeys: false });
  const edits: Array<{ start: number; end: number; value: string }> = [];
  for (const w of wanted) {
    const node = sourceNode(doc, w.path);
    if (!node?.range) return { ok: false, problems: [{ path: formatPath(w.path), message: 'a secret placeholder here could not be located in the text; send the secret itself' }] };
    edits.push({ start: node.range[0], end: node.range[1], value: w.value });
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = `${out.slice(0, e.start)}${JSON.stringify(e.value)}${out.slice(e.end)}`;
  const restored = structuredClone(document);
  for (const w of wanted) setIn(restored, w.path, w.value);
  return { ok: true, text: out, document: restored };
}

/** The fingerprint → secret map a PUT may refer to: the inline secrets of the version now serving. */
export function knownSecrets(document: unknown): Map<string, string> {
  return new Map(inlineSecrets(document).map((s) => [secretFingerprint(s.value), s.value]));
}

/** The scalar holding the value at `path`, following an alias to its anchor (the anchor is where the secret is written). */
function sourceNode(doc: ReturnType<typeof parseDocument>, path: Path): Scalar | undefined {
  let node = doc.getIn(path, true) as Node | undefined;
  if (isAlias(node)) node = node.resolve(doc) as Node | undefined;
  return isScalar(node) ? node : undefined;
}

function getIn(doc: unknown, path: Path): unknown {
  let cur = doc;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return cur;
}

function setIn(doc: unknown, path: Path, value: unknown): void {
  const parent = getIn(doc, path.slice(0, -1));
  if (parent && typeof parent === 'object') (parent as Record<string | number, unknown>)[path[path.length - 1]!] = value;
}

/** Bounded parse of untrusted policy text, then secret placeholders put back from `known` (see `restoreSecrets`). */
export function parsePolicyUpdate(text: string, known: ReadonlyMap<string, string> = new Map(), limits: PolicyLimits = POLICY_LIMITS): ParseResult {
  const parsed = parsePolicyText(text, limits);
  if (!parsed.ok || !text.includes('<redacted sha256:')) return parsed;
  const restored = restoreSecrets(text, parsed.document, known);
  if (!restored.ok) return restored;
  return restored.text === text ? parsed : { ok: true, document: restored.document, text: restored.text };
}
