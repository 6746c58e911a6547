import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const guard = fileURLToPath(new URL('../../src/engine/process-guard.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tollgate-guard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a small program in its own process with the guards `tollgate serve` installs; returns its exit code and output. */
function run(body: string): Promise<{ code: number | null; out: string }> {
  const file = join(dir, `p${Math.random().toString(16).slice(2)}.mjs`);
  writeFileSync(
    file,
    `import { installProcessGuards } from ${JSON.stringify(guard)};
const say = (o) => console.log(JSON.stringify(o));
installProcessGuards({
  log: { error: (o, msg) => say({ level: 'error', msg }), fatal: (o, msg) => say({ level: 'fatal', msg }) },
  report: () => (task, err) => say({ task, err: err.message }),
});
${body}
`,
  );
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', file], { timeout: 30_000 }, (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, out: stdout }));
  });
}

describe('process guards of tollgate serve', () => {
  it('a promise rejection nobody handled is reported with its task and the process keeps running', async () => {
    const { code, out } = await run(`Promise.reject(new Error('stray failure'));
setTimeout(() => say({ still: 'serving' }), 50);`);
    expect(code).toBe(0);
    expect(out).toContain('{"task":"unhandled-rejection","err":"stray failure"}');
    expect(out).toContain('{"still":"serving"}');
  });

  it('an uncaught exception is logged as fatal and exits 70 for the supervisor', async () => {
    const { code, out } = await run(`setTimeout(() => { throw new Error('half-done update'); }, 10);
setInterval(() => undefined, 1000);`);
    expect(code).toBe(70);
    expect(out).toMatch(/"level":"fatal","msg":"uncaught exception, exiting: half-done update"/);
  });
});
