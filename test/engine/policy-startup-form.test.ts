import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { PolicyManager } from '../../src/engine/policy-manager.js';
import { decide } from '../../src/policy/decide.js';
import { EmbeddedPolicyStore } from '../../src/store/embedded/policy-store.js';
import { decodeForm, encodeForm } from '../../src/store/embedded/policy-form.js';
import type { Quarantined } from '../../src/store/embedded/quarantine.js';
import { sha256Hex } from '../../src/engine/policy-version.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const policy = (rules: number) =>
  `version: 1\negress:\n  - identity: "*"\n    allow:\n${Array.from({ length: rules }, (_, i) => `      - { id: r${i}, host: api${i}.example.com, methods: [GET] }\n`).join('')}`;

/** One start of Tollgate's policy half on `dir`: the store, the manager, and what it logged. */
async function start(dir: string) {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const quarantined: Quarantined[] = [];
  const store = new EmbeddedPolicyStore(join(dir, 'data'), { onQuarantine: (q) => quarantined.push(q) });
  const manager = new PolicyManager(store, pino({ level: 'info' }, sink), join(dir, 'policy.yaml'));
  await manager.init();
  const source = lines.find((l) => typeof l.source === 'string')?.source;
  const allows = (host: string) => decide(manager.current.policy, { identity: 'anyone', authority: host, method: 'GET', path: '/' }).verdict === 'allow';
  return { manager, store, source, quarantined, allows };
}

function fresh(rules: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-form-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'policy.yaml'), policy(rules));
  return dir;
}

describe('restart from the stored validated form', () => {
  it('a restart whose stored text matches its form compiles from the form and decides the same', async () => {
    const dir = fresh(2000);
    const first = await start(dir);
    expect(existsSync(join(dir, 'data', 'policy.validated'))).toBe(true);
    expect(first.allows('api1999.example.com')).toBe(true);
    const again = await start(dir);
    expect(again.source).toBe('validated-form');
    expect(again.quarantined).toEqual([]);
    expect(again.manager.current.version).toBe(first.manager.current.version);
    expect(again.manager.current.policy.document).toEqual(first.manager.current.policy.document);
    expect(again.allows('api1999.example.com')).toBe(true);
    expect(again.allows('api2000.example.com')).toBe(false);
  });

  it('an API write stores the form of the new text: the next restart uses it', async () => {
    const dir = fresh(10);
    const first = await start(dir);
    expect((await first.manager.update(policy(20))).ok).toBe(true);
    const again = await start(dir);
    expect(again.source).toBe('validated-form');
    expect(again.allows('api19.example.com')).toBe(true);
  });

  it('a tampered form is quarantined, the text is parsed instead, and a good form is written for the next restart', async () => {
    const dir = fresh(50);
    await start(dir);
    const formPath = join(dir, 'data', 'policy.validated');
    // Someone widens a rule in the stored form without the text: the form no longer matches its own hash.
    writeFileSync(formPath, readFileSync(formPath, 'utf8').replace('api7.example.com', 'evil.example.com'));
    const afterTamper = await start(dir);
    expect(afterTamper.quarantined).toHaveLength(1);
    expect(afterTamper.quarantined[0]!.reason).toMatch(/does not match its sha256/);
    expect(readdirSync(join(dir, 'data')).some((f) => f.startsWith('policy.validated.corrupt-'))).toBe(true);
    expect(afterTamper.source).toBe('text');
    expect(afterTamper.allows('evil.example.com')).toBe(false);
    expect(afterTamper.allows('api7.example.com')).toBe(true);
    const next = await start(dir);
    expect(next.source).toBe('validated-form');
    expect(next.quarantined).toEqual([]);
  });

  it('a form cut short or not a form at all is quarantined too; a form of other text is only stale', async () => {
    const dir = fresh(50);
    await start(dir);
    const formPath = join(dir, 'data', 'policy.validated');
    const good = readFileSync(formPath, 'utf8');
    writeFileSync(formPath, good.slice(0, good.length / 2));
    expect((await start(dir)).quarantined[0]!.reason).toMatch(/cut short|sha256/);
    writeFileSync(formPath, 'not a form\n');
    expect((await start(dir)).quarantined[0]!.reason).toMatch(/header is not JSON/);
    // The form of another text (a crash between writing policy.json and the form): ignored, not quarantined.
    writeFileSync(formPath, good.replace(/"sha256":"[0-9a-f]{64}"/, `"sha256":"${'0'.repeat(64)}"`));
    const stale = await start(dir);
    expect(stale.quarantined).toEqual([]);
    expect(stale.source).toBe('text');
    expect(stale.allows('api49.example.com')).toBe(true);
  });

  it('a well-formed form whose document does not compile (written by another build) is not served: the text is parsed', async () => {
    const dir = fresh(30);
    await start(dir);
    const formPath = join(dir, 'data', 'policy.validated');
    const text = (JSON.parse(readFileSync(join(dir, 'data', 'policy.json'), 'utf8')) as { text: string }).text;
    const good = decodeForm(readFileSync(formPath, 'utf8'), sha256Hex(text));
    if (!good.ok) throw new Error('expected a good form');
    // Hashes all match, but a rule names a block that does not exist.
    writeFileSync(formPath, encodeForm({ ...good.form, chunks: [good.form.chunks[0]!.replace('{"b":0', '{"b":7')] }));
    const r = await start(dir);
    expect(r.source).toBe('text');
    expect(r.allows('api29.example.com')).toBe(true);
  });
});
