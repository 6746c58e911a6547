#!/usr/bin/env node
// Compiles src/ into dist/ (ESM, one .js per .ts, same layout) so `tollgate` starts without tsx.
// esbuild rather than tsc: it is the transform tsx already applies when running src/ (same output, so the
// tests that run src/ vouch for dist/), it takes ~1 s for the whole tree, and it is a production dependency,
// so `npm ci --omit=dev` can build too. Type checking stays `npm run typecheck`.
// dist/ is swapped in whole: a `tollgate` started mid-build runs the old dist/ or, in the instant between
// the renames, src/ through tsx (bin/tollgate.js), never half a tree.
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');
// bin/tollgate.js runs dist/ only while no file under src/ is newer than this file.
const STAMP = '.built';

if (!existsSync(src)) {
  // An install without sources (the Docker image's dependency layer): nothing to compile.
  console.log('build-dist: no src/ to compile');
  process.exit(0);
}

const started = new Date();
const { build } = await import('esbuild');
const files = readdirSync(src, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
const entryPoints = files.filter((e) => e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')).map((e) => join(e.parentPath, e.name));
// The rest (worker entries in plain .mjs, any data file) is copied as is, so import.meta.url-relative paths hold.
const assets = files.filter((e) => !e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));

const tmp = `${dist}.${process.pid}.tmp`;
rmSync(tmp, { recursive: true, force: true });
try {
  await build({ entryPoints, outdir: tmp, outbase: src, format: 'esm', platform: 'node', target: 'node20', sourcemap: 'linked', logLevel: 'warning' });
  for (const file of assets) {
    const to = join(tmp, file.slice(src.length));
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(file, to);
  }
  // Stamped with the start time: a source saved while the build ran counts as newer, so dist/ is not trusted.
  writeFileSync(join(tmp, STAMP), `${started.toISOString()}\n`);
  utimesSync(join(tmp, STAMP), started, started);
} catch (err) {
  rmSync(tmp, { recursive: true, force: true });
  console.error(`build-dist: ${err.message}`);
  process.exit(1);
}
const old = `${dist}.${process.pid}.old`;
if (existsSync(dist)) renameSync(dist, old);
renameSync(tmp, dist);
rmSync(old, { recursive: true, force: true });
console.log(`build-dist: ${entryPoints.length} modules and ${assets.length} assets into dist/ in ${Date.now() - started.getTime()} ms`);
