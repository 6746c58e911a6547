import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyAuditDir } from '../../src/audit/verify.js';
import { TEST_POLICY } from '../support/policies.js';
import { checkLoad as load, serveProcess as serve, storedDecisionIds } from '../support/serve-process.js';

/** README "Durability": a Check acknowledged this long before kill -9 is in the audit log (20 ms bus + group commits, with margin for a loaded machine). */
const PROMISED_WINDOW_MS = 1000;
describe('audit durability under kill -9', () => {
  it('loses no acknowledged decision older than the promised window, over two kill -9 rounds, and the chain verifies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-kill9-'));
    writeFileSync(join(dir, 'policy.yaml'), TEST_POLICY);
    const all: Array<{ id: string; at: number; killedAt: number }> = [];
    for (let round = 0; round < 2; round++) {
      const { child, grpcPort } = await serve(dir);
      const l = load(grpcPort, 16);
      // Bounded: load until 1,500 decisions are answered or 4 s pass, whichever comes first.
      const started = Date.now();
      while (l.acked.length < 1500 && Date.now() - started < 4000) await new Promise((r) => setTimeout(r, 20));
      const killedAt = Date.now();
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      await l.stop();
      for (const a of l.acked) all.push({ ...a, killedAt });
      expect(l.acked.length).toBeGreaterThan(100);
    }
    const stored = await storedDecisionIds(join(dir, 'data'));
    const old = all.filter((a) => a.at < a.killedAt - PROMISED_WINDOW_MS);
    const lostOld = old.filter((a) => !stored.has(a.id));
    const lostRecent = all.filter((a) => a.at >= a.killedAt - PROMISED_WINDOW_MS && !stored.has(a.id));
    console.info(`kill -9: ${all.length} acknowledged, ${stored.size} stored; lost older than ${PROMISED_WINDOW_MS} ms: ${lostOld.length}; lost inside the window: ${lostRecent.length} (the oldest answered ${Math.max(0, ...lostRecent.map((a) => a.killedAt - a.at))} ms before the kill)`);
    expect(old.length).toBeGreaterThan(100);
    expect(lostOld).toEqual([]);
    const report = await verifyAuditDir(join(dir, 'data', 'audit'));
    expect(report.ok).toBe(true);
    expect(report.quarantined).toBeUndefined();
  }, 180_000);
});
