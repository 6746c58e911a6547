import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { verifyAuditDir } from '../../src/audit/verify.js';
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { tempDataDir } from './fixtures.js';

const CHILD = fileURLToPath(new URL('./compress-kill-child.ts', import.meta.url));

/** Runs the child until it has acknowledged `records` records and compressed at least one segment, then kill -9. */
function runUntil(dataDir: string, records: number): Promise<{ acked: number; compressed: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let acked = 0;
    let compressed = 0;
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
        const m = /^acked (\d+) compressed (\d+)$/.exec(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (m) {
          acked = Number(m[1]);
          compressed = Number(m[2]);
        }
      }
      if (acked >= records && compressed > 0) child.kill('SIGKILL');
    });
    child.once('exit', (code, signal) => (signal === 'SIGKILL' ? resolve({ acked, compressed }) : reject(new Error(`child exited ${code}`))));
  });
}

describe('audit compression under kill -9', () => {
  it('loses no acknowledged record when killed while sealed segments are being compressed, over three rounds', async () => {
    const dataDir = tempDataDir();
    let acked = 0;
    for (const target of [1500, 3500, 5500]) {
      const r = await runUntil(dataDir, target);
      expect(r.acked).toBeGreaterThanOrEqual(target);
      acked = r.acked;
      const store = await EmbeddedAuditStore.open({ dataDir, maintenanceIntervalMs: 0 });
      // Every acknowledged record is there, in one unbroken chain from seq 1.
      expect(store.stats().last_seq).toBeGreaterThanOrEqual(acked);
      const report = await store.verify();
      expect(report).toMatchObject({ ok: true, first_seq: 1 });
      expect(report.records).toBe(store.stats().last_seq);
      expect(report.quarantined).toBeUndefined();
      // The reopened store goes on compressing what the killed one had not: let it finish before looking at the files.
      await store.maintain();
      const files = readdirSync(join(dataDir, 'audit'));
      expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
      expect(files.filter((f) => f.endsWith('.jsonl') && files.includes(`${f}.gz`))).toEqual([]);
      expect(files.some((f) => f.endsWith('.jsonl.gz'))).toBe(true);
      await store.close();
    }
    const final = await verifyAuditDir(join(dataDir, 'audit'));
    expect(final.ok).toBe(true);
    expect(final.last_seq).toBeGreaterThanOrEqual(acked);
  }, 180_000);
});
