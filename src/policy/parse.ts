import { Composer, CST, isMap, isScalar, Lexer, LineCounter, Parser, YAMLParseError, type Node } from 'yaml';
import { parseLargePolicyText } from './parse-large.js';
import type { Problem } from './problems.js';

/** Bounds on untrusted policy text, checked on the token stream before any document is built. */
export interface PolicyLimits {
  /** UTF-8 bytes of the whole document; a generated 100,000-rule policy is ~13 MB, and the parse worker's heap and time limits bound the rest. */
  maxBytes: number;
  /** Nesting of maps and sequences; real policies need about 6. */
  maxDepth: number;
  /** Scalars, aliases and collections together; a 100,000-rule policy has about 1.3 million. */
  maxNodes: number;
  /** Alias (`*name`) references; each can expand a whole subtree. */
  maxAliases: number;
}

export const POLICY_LIMITS: Readonly<PolicyLimits> = Object.freeze({ maxBytes: 32 * 1024 * 1024, maxDepth: 32, maxNodes: 3_000_000, maxAliases: 100 });

/** Documents up to this size go through the yaml package's CST (exact line numbers, every limit counted before building); larger ones through js-yaml (parse-large.ts), ten times faster. */
export const CST_PARSE_BYTES = 1024 * 1024;

/** The limit a document broke, so an API can answer 413 for size and 400 for shape, naming it. */
export type LimitName = keyof PolicyLimits | 'parseTimeoutMs' | 'parseHeapMb';

/** `text` is set when the text to install differs from the text sent (secret placeholders put back). */
export type ParseResult = { ok: true; document: unknown; text?: string } | { ok: false; problems: Problem[]; limit?: { name: LimitName; value: number } };

/**
 * Parses YAML or JSON policy text into plain data, refusing documents over `limits` before building them:
 * the yaml package's CST parser allocates per level, its composer recurses per level and its `uniqueKeys`
 * check is quadratic per map, so size is counted on the lexer's stream first (stopping at the first
 * excess), depth on the CST, and duplicate keys with a Set.
 */
export function parsePolicyText(text: string, limits: PolicyLimits = POLICY_LIMITS): ParseResult {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes) return tooBig('maxBytes', limits.maxBytes, `policy document is ${bytes} bytes; the limit is ${limits.maxBytes} bytes (maxBytes)`);
  if (bytes > CST_PARSE_BYTES) return parseLargePolicyText(text, limits);
  const counted = count(text, limits);
  if (counted) return counted;
  const lines = new LineCounter();
  let tokens: CST.Token[];
  try {
    tokens = [...new Parser(lines.addNewLine).parse(text)];
  } catch (err) {
    return { ok: false, problems: [{ path: '(document)', message: `not valid YAML: ${firstLine(err)}` }] };
  }
  const shape = measure(tokens, limits);
  if (shape) return shape;
  try {
    const composer = new Composer({ uniqueKeys: false });
    const docs = [...composer.compose(tokens, true, text.length)];
    if (docs.length > 1) return { ok: false, problems: [{ path: at(lines, docs[1]!.range[0]), message: 'not valid YAML: the text holds more than one document' }] };
    const doc = docs[0];
    if (!doc) return { ok: true, document: null };
    const error = doc.errors[0];
    if (error) return { ok: false, problems: [{ path: at(lines, error.pos[0]), message: `not valid YAML: ${firstLine(error)}` }] };
    const duplicate = firstDuplicateKey(doc.contents);
    if (duplicate) return { ok: false, problems: [{ path: at(lines, duplicate.offset), message: `not valid YAML: duplicate key "${duplicate.key}"` }] };
    return { ok: true, document: doc.toJS({ maxAliasCount: limits.maxAliases }) };
  } catch (err) {
    const where = err instanceof YAMLParseError ? at(lines, err.pos[0]) : '(document)';
    return { ok: false, problems: [{ path: where, message: `not valid YAML: ${firstLine(err)}` }] };
  }
}

function tooBig(name: LimitName, value: number, message: string): ParseResult {
  return { ok: false, problems: [{ path: '(document)', message }], limit: { name, value } };
}

const NODE_LEXEMES = new Set(['scalar', 'single-quoted-scalar', 'double-quoted-scalar', 'alias', 'flow-map-start', 'flow-seq-start', 'seq-item-ind', 'explicit-key-ind']);

/** One pass over the lexer's stream: nodes, aliases and flow nesting, stopping at the first limit broken. */
function count(text: string, limits: PolicyLimits): ParseResult | undefined {
  let nodes = 0;
  let aliases = 0;
  let flow = 0;
  for (const lexeme of new Lexer().lex(text)) {
    const type = CST.tokenType(lexeme);
    if (type === null || !NODE_LEXEMES.has(type)) {
      if (type === 'flow-map-end' || type === 'flow-seq-end') flow = Math.max(0, flow - 1);
      continue;
    }
    if (++nodes > limits.maxNodes) return tooBig('maxNodes', limits.maxNodes, `policy document has more than ${limits.maxNodes} nodes (maxNodes)`);
    if (type === 'alias' && ++aliases > limits.maxAliases) return tooBig('maxAliases', limits.maxAliases, `policy document has more than ${limits.maxAliases} aliases (maxAliases)`);
    if ((type === 'flow-map-start' || type === 'flow-seq-start') && ++flow > limits.maxDepth) return deeper(limits);
  }
  return undefined;
}

function deeper(limits: PolicyLimits): ParseResult {
  return tooBig('maxDepth', limits.maxDepth, `policy document nests deeper than ${limits.maxDepth} levels (maxDepth)`);
}

/** Block nesting on the CST (already bounded in size by `count`), walked with an explicit stack. */
function measure(tokens: readonly CST.Token[], limits: PolicyLimits): ParseResult | undefined {
  const stack: Array<[CST.Token, number]> = [];
  for (const t of tokens) if (t.type === 'document' && t.value) stack.push([t.value, 0]);
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth + 1 > limits.maxDepth) return deeper(limits);
      for (const item of token.items as CST.CollectionItem[]) {
        if (item.key) stack.push([item.key, depth + 1]);
        if (item.value) stack.push([item.value, depth + 1]);
      }
    }
  }
  return undefined;
}

/** Linear duplicate-key check (a Set per map); depth is already bounded, so recursion is safe here. */
function firstDuplicateKey(node: unknown): { key: string; offset: number } | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const n = node as Node & { items?: unknown[] };
  if (isMap(n)) {
    const seen = new Set<string>();
    for (const pair of n.items) {
      if (isScalar(pair.key)) {
        const key = String(pair.key.value);
        if (seen.has(key)) return { key: key.slice(0, 64), offset: pair.key.range?.[0] ?? 0 };
        seen.add(key);
      }
      const inner = firstDuplicateKey(pair.value);
      if (inner) return inner;
    }
    return undefined;
  }
  if (Array.isArray(n.items)) {
    for (const item of n.items) {
      const inner = firstDuplicateKey(item);
      if (inner) return inner;
    }
  }
  return undefined;
}

function at(lines: LineCounter, offset: number): string {
  return `line ${lines.linePos(offset).line}`;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
