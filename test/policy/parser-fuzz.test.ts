import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildPolicy } from '../../src/engine/policy-version.js';
import { parsePolicyText } from '../../src/policy/parse.js';
import { inlineSecrets, parsePolicyUpdate, redactPolicyText } from '../../src/policy/secrets.js';

const EXAMPLE = readFileSync(new URL('../../examples/policy.yaml', import.meta.url), 'utf8');
const RUNS = { numRuns: 300, seed: 20261202 };

/** Pieces YAML and JSON are made of, so random text reaches deep into the parser rather than failing at byte 1. */
const TOKEN = fc.constantFrom(
  '\n', ' ', '  ', '- ', ': ', '? ', '[', ']', '{', '}', ',', '"', "'", '#', '&a ', '*a', '!!str ', '|', '>', '---', '...', '%YAML 1.2',
  'version', '1', '2', 'egress', 'identity', 'allow', 'host', '"*"', '*.x.com', 'api.stripe.com', 'methods', 'paths', 'mode', 'report',
  'identities', 'name', 'match', 'spiffe', 'signedHeader', 'hmac', 'secret', 'value', '<redacted sha256:0123456789ab>', 'null', '~', '\t', '\u0000', 'é',
);
const yamlish = fc.array(TOKEN, { maxLength: 200 }).map((t) => t.join(''));

/** An edit of the example policy: delete, insert, duplicate or replace a slice. */
const mutation = fc.tuple(fc.nat(EXAMPLE.length), fc.nat(40), fc.constantFrom('delete', 'insert', 'duplicate', 'replace'), yamlish).map(([at, len, kind, text]) => {
  const end = Math.min(EXAMPLE.length, at + len);
  if (kind === 'delete') return EXAMPLE.slice(0, at) + EXAMPLE.slice(end);
  if (kind === 'insert') return EXAMPLE.slice(0, at) + text + EXAMPLE.slice(at);
  if (kind === 'duplicate') return EXAMPLE.slice(0, end) + EXAMPLE.slice(at, end) + EXAMPLE.slice(end);
  return EXAMPLE.slice(0, at) + text + EXAMPLE.slice(end);
});

function wellFormed(text: string): void {
  const built = buildPolicy(text);
  if (built.ok) return;
  expect(built.problems.length).toBeGreaterThan(0);
  for (const p of built.problems) {
    expect(typeof p.path).toBe('string');
    expect(p.path.length).toBeGreaterThan(0);
    expect(typeof p.message).toBe('string');
  }
}

describe('policy parser and validator under random input (fast-check, fixed seed and budget)', () => {
  it('random YAML-ish text never throws: valid, or problems each with a path', () => {
    fc.assert(fc.property(yamlish, (text) => wellFormed(text)), RUNS);
  });

  it('random edits of the example policy never throw: valid, or problems each with a path', () => {
    fc.assert(fc.property(mutation, (text) => wellFormed(text)), RUNS);
  });

  it('random JSON documents never throw, and nested ones past the depth limit are refused by name', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 40 }), (value) => {
        const text = JSON.stringify(value) ?? 'null';
        wellFormed(text);
        const parsed = parsePolicyText(text);
        if (!parsed.ok && parsed.limit) expect(parsed.problems[0]!.message).toContain(parsed.limit.name);
      }),
      RUNS,
    );
  });

  it('redaction and placeholder restore never throw on mutated policies, and no inline secret survives redaction', () => {
    fc.assert(
      fc.property(mutation, (text) => {
        const parsed = parsePolicyText(text);
        if (!parsed.ok) return;
        const shown = redactPolicyText(text, parsed.document);
        for (const s of inlineSecrets(parsed.document)) if (s.value.length > 0) expect(shown).not.toContain(s.value);
        const update = parsePolicyUpdate(text, new Map());
        expect(typeof update.ok).toBe('boolean');
      }),
      RUNS,
    );
  });
});
