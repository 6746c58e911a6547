import { execFile, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
// One fingerprint key for every run, so scan's fingerprints can be compared across processes.
const ENV = { ...process.env, TOLLGATE_FINGERPRINT_KEY: 'compiled-test-key-0123456789' };

let work: string;
/** A checkout built as `npm install` builds it: src/ and dist/ side by side. */
let checkout: string;
/** An install with dist/ and no src/ (the Docker image's layout): bin/tollgate.js can only run the compiled CLI. */
let distOnly: string;

function tollgate(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/tollgate.js', ...args], { cwd, env: { ...ENV, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr });
    });
  });
}

beforeAll(() => {
  // Copies, so concurrent edits to the working tree cannot make dist/ stale mid-test and the real dist/ is left alone.
  work = mkdtempSync(join(tmpdir(), 'tollgate-compiled-'));
  checkout = join(work, 'checkout');
  distOnly = join(work, 'image');
  for (const dir of ['src', 'bin', 'scripts', 'examples', 'ui']) cpSync(join(ROOT, dir), join(checkout, dir), { recursive: true });
  for (const file of ['package.json', 'tsconfig.json']) cpSync(join(ROOT, file), join(checkout, file));
  symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'));
  execFileSync(process.execPath, ['scripts/build-dist.mjs'], { cwd: checkout, stdio: 'ignore' });
  for (const dir of ['dist', 'bin', 'examples', 'ui']) cpSync(join(checkout, dir), join(distOnly, dir), { recursive: true });
  cpSync(join(checkout, 'package.json'), join(distOnly, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(distOnly, 'node_modules'));
  writeFileSync(join(work, 'body.json'), JSON.stringify({ note: 'mail alice@example.com', card: '4111 1111 1111 1111', key: 'sk_live_4eC39HqLyjWDarjtT1zdp7dc' }));
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

// Each case starts two CLIs in child processes (the source one through tsx): generous time on a busy machine.
describe('the compiled CLI (dist/)', { timeout: 120_000 }, () => {
  const cases: Array<[string, () => string[]]> = [
    ['--version', () => ['--version']],
    ['--help', () => ['--help']],
    ['validate of the example policy', () => ['validate', 'examples/policy.yaml']],
    ['decide (allowed)', () => ['decide', '--policy', 'examples/policy.yaml', '--principal', 'spiffe://prod.example/ns/billing/sa/web', '--host', 'api.stripe.com', '--method', 'POST', '--path', '/v1/charges/ch_1']],
    ['decide (denied, --json)', () => ['decide', '--policy', 'examples/policy.yaml', '--identity', 'billing', '--host', 'evil.example.com', '--json']],
    ['scan of a JSON body', () => ['scan', '--content-type', 'application/json', join(work, 'body.json')]],
    ['scan --jsonl', () => ['scan', '--jsonl', join(work, 'body.json')]],
    ['an unknown command', () => ['frobnicate']],
  ];
  for (const [name, args] of cases) {
    it(`answers ${name} exactly as the TypeScript sources do`, async () => {
      const compiled = await tollgate(distOnly, args());
      const source = await tollgate(checkout, args(), { TOLLGATE_FROM_SOURCE: '1' });
      expect(compiled).toEqual(source);
      expect(compiled.stdout + compiled.stderr).not.toBe('');
    });
  }

  it('runs from dist/ while it is current, and from an edited source file once one is newer', async () => {
    const file = join(checkout, 'src/cli/commands.ts');
    const original = readFileSync(file, 'utf8');
    const built = new Date(Date.now() - 60_000);
    try {
      writeFileSync(file, original.replace('Checks a policy file', 'Checks a policy file (edited)'));
      // Same content change, but dated before the build: bin/tollgate.js trusts dist/ and prints the built text.
      utimesSync(file, built, built);
      utimesSync(join(checkout, 'dist/.built'), new Date(), new Date());
      expect((await tollgate(checkout, ['--help'])).stdout).not.toContain('(edited)');
      utimesSync(file, new Date(Date.now() + 1000), new Date(Date.now() + 1000));
      expect((await tollgate(checkout, ['--help'])).stdout).toContain('Checks a policy file (edited)');
    } finally {
      writeFileSync(file, original);
    }
  });

  it('serves from dist/ alone: the dashboard, and a policy PUT parsed by the worker', async () => {
    const data = join(work, 'data');
    const child = spawn(process.execPath, ['bin/tollgate.js', 'serve', '--policy', 'examples/policy.yaml', '--demo', '--grpc', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--data', data], { cwd: distOnly, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const serving = await new Promise<{ admin: string }>((resolve, reject) => {
        let stderr = '';
        child.stderr!.on('data', (c) => (stderr += String(c)));
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
        createInterface({ input: child.stdout! }).on('line', (line) => {
          if (line.includes('"tollgate serving"')) resolve(JSON.parse(line) as { admin: string });
        });
      });
      const admin = `http://${serving.admin}`;
      const ui = await fetch(`${admin}/ui/`);
      expect(ui.status).toBe(200);
      expect(await ui.text()).toContain('<title>Tollgate</title>');
      expect((await fetch(`${admin}/ui/vendor/preact.mjs`)).status).toBe(200);
      const current = await fetch(`${admin}/v1/policy`);
      const etag = current.headers.get('etag')!;
      const put = await fetch(`${admin}/v1/policy`, { method: 'PUT', headers: { 'content-type': 'application/yaml', 'if-match': etag }, body: readFileSync(join(distOnly, 'examples/policy.yaml'), 'utf8') });
      expect(put.status).toBe(200);
      expect(await put.json()).toMatchObject({ version: 2, rules: 5 });
      const bad = await fetch(`${admin}/v1/policy`, { method: 'PUT', headers: { 'content-type': 'application/yaml', 'if-match': put.headers.get('etag')! }, body: 'version: 1\nidentities: [' });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: 'invalid_policy' });
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });
});
