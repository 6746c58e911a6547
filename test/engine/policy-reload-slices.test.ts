import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { PolicyManager } from '../../src/engine/policy-manager.js';
import { PolicyParser } from '../../src/engine/policy-parser.js';
import { RULES_PER_CHUNK } from '../../src/engine/policy-prepare.js';
import { decide } from '../../src/policy/decide.js';
import { EmbeddedPolicyStore } from '../../src/store/embedded/policy-store.js';

const dirs: string[] = [];
const parser = new PolicyParser();
afterAll(async () => {
  await parser.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function policyWith(hosts: number, prefix: string): string {
  const rules = Array.from({ length: hosts }, (_, i) => `      - { id: ${prefix}-${i}, host: ${prefix}-${i}.example.com, methods: [GET], paths: ["/v1/**"] }`);
  return `version: 1\negress:\n  - identity: "*"\n    allow:\n${rules.join('\n')}\n`;
}

async function manager(pause: () => Promise<void>): Promise<PolicyManager> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-slices-'));
  dirs.push(dir);
  const m = new PolicyManager(new EmbeddedPolicyStore(dir), pino({ level: 'silent' }), undefined, { prepare: (text, known) => parser.prepare(text, known), pause });
  await m.init();
  return m;
}

const get = (host: string) => ({ identity: 'billing', authority: host, method: 'GET', path: '/v1/x' });

describe('a large policy reload never holds requests for the whole compile', () => {
  it('a 10,000-rule update is indexed in slices; between them requests are decided by the old policy, then the new one serves whole', async () => {
    const seen: Array<{ version: number; oldAllowed: boolean; newAllowed: boolean }> = [];
    const m: PolicyManager = await manager(async () => {
      const v = m.current;
      seen.push({ version: v.version, oldAllowed: decide(v.policy, get('old-9.example.com')).allowed, newAllowed: decide(v.policy, get('new-9999.example.com')).allowed });
      await new Promise((r) => setImmediate(r));
    });
    const first = await m.update(policyWith(10, 'old'));
    expect(first.ok).toBe(true);
    seen.length = 0;

    const result = await m.update(policyWith(10_000, 'new'));
    expect(result.ok).toBe(true);
    expect(seen.length).toBeGreaterThanOrEqual(10_000 / RULES_PER_CHUNK);
    expect(seen.every((s) => s.version === 2 && s.oldAllowed && !s.newAllowed)).toBe(true);
    expect(m.current.version).toBe(3);
    expect(m.current.policy.rules.length).toBe(10_000);
    expect(decide(m.current.policy, get('new-9999.example.com')).allowed).toBe(true);
    expect(decide(m.current.policy, get('old-9.example.com')).allowed).toBe(false);
  });

  it('a policy refused by the worker (unknown identity) is never partly installed', async () => {
    const m = await manager(() => new Promise((r) => setImmediate(r)));
    const bad = policyWith(2_000, 'bad').replace('identity: "*"', 'identity: nobody');
    const result = await m.update(bad);
    expect(result).toMatchObject({ ok: false, kind: 'invalid', problems: [{ path: 'egress[0].identity', message: expect.stringContaining('unknown identity "nobody"') }] });
    expect(m.current.version).toBe(1);
    expect(m.current.policy.rules.length).toBe(0);
  });
});
