import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyAuditDir } from '../../src/audit/verify.js';
import { TEST_POLICY } from '../support/policies.js';
import { checkLoad, serveProcess, storedDecisionIds } from '../support/serve-process.js';

describe('graceful shutdown of tollgate serve', { timeout: 180_000 }, () => {
  it('SIGTERM under load: exit 0, and every decision answered before it is in the audit log with an intact chain', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-sigterm-'));
    writeFileSync(join(dir, 'policy.yaml'), TEST_POLICY);
    const { child, grpcPort } = await serveProcess(dir);
    const load = checkLoad(grpcPort, 8);
    // Bounded: until 300 answers or 4 s.
    const started = Date.now();
    while (load.acked.length < 300 && Date.now() - started < 4000) await new Promise((r) => setTimeout(r, 20));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const code = await exited;
    await load.stop();
    expect(code).toBe(0);
    expect(load.acked.length).toBeGreaterThan(50);
    const stored = await storedDecisionIds(join(dir, 'data'));
    expect(load.acked.filter((a) => !stored.has(a.id))).toEqual([]);
    expect((await verifyAuditDir(join(dir, 'data', 'audit'))).ok).toBe(true);
  });
});
