// Fails when src/proto/gen differs from what `npm run generate` produces now (generated types are committed).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const out = mkdtempSync(join(tmpdir(), 'tollgate-gen-'));
const template = readFileSync('buf.gen.yaml', 'utf8').replace('out: src/proto/gen', `out: ${out}`);
const templatePath = join(out, 'buf.gen.yaml');
writeFileSync(templatePath, template);
execFileSync('npx', ['buf', 'generate', '--template', templatePath], { stdio: 'inherit' });

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}
const fresh = files(out).filter((p) => p !== templatePath).map((p) => relative(out, p)).sort();
const committed = files('src/proto/gen').map((p) => relative('src/proto/gen', p)).sort();
const stale = [];
if (fresh.join('\n') !== committed.join('\n')) stale.push('file list differs');
for (const f of fresh) {
  if (!committed.includes(f)) continue;
  if (readFileSync(join(out, f), 'utf8') !== readFileSync(join('src/proto/gen', f), 'utf8')) stale.push(f);
}
rmSync(out, { recursive: true, force: true });
if (stale.length) {
  console.error(`src/proto/gen is stale (${stale.slice(0, 5).join(', ')}); run npm run generate and commit.`);
  process.exit(1);
}
console.log(`src/proto/gen is current (${fresh.length} files).`);
