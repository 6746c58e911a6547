import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PolicyParser } from '../../src/engine/policy-parser.js';
import { BACKGROUND_NICE } from '../../src/engine/thread-priority.js';

/** Nice value of each thread of this process (Linux /proc: field 19 of task/<tid>/stat). */
function threadNice(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // after "pid (comm) ": field 3 is fields[0]
    out.set(Number(tid), Number(fields[16]));
  }
  return out;
}

describe('the policy parse worker on a shared core', () => {
  it.runIf(process.platform === 'linux')('runs at a lower priority than the event loop, so a large reload yields the core to Checks', async () => {
    const before = threadNice();
    const parser = new PolicyParser({ eager: true });
    try {
      // The first parse waits for the worker to load, so its thread exists and has lowered itself by then.
      const parsed = await parser.parse('version: 1\negress: []\n');
      expect(parsed.ok).toBe(true);
      const lowered = [...threadNice()].filter(([tid, nice]) => !before.has(tid) && nice === BACKGROUND_NICE);
      expect(lowered.length).toBeGreaterThanOrEqual(1);
      expect(threadNice().get(process.pid)).toBe(0);
    } finally {
      await parser.close();
    }
  });
});
