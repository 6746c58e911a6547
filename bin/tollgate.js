#!/usr/bin/env node
// Runs the compiled CLI (dist/bundle/, built by `npm install` or `npm run build`: scripts/build-dist.mjs) when
// it is at least as new as every file under src/; otherwise the TypeScript itself through tsx's loader, so an
// edit, or a clone without a build, still runs exactly what is in src/. TOLLGATE_FROM_SOURCE=1 always runs src/.
import { readdirSync, statSync } from 'node:fs';
import module from 'node:module';

const root = new URL('../', import.meta.url);

/** Whether dist/ holds a build of the current src/ (a tree without src/ is a dist-only install). */
function distIsCurrent() {
  let built;
  try {
    built = statSync(new URL('dist/.built', root)).mtimeMs;
    statSync(new URL('dist/bundle/cli.js', root)); // a dist/ from a build script that made no bundle is no use either
  } catch {
    return false;
  }
  const src = new URL('src/', root);
  let entries;
  try {
    entries = readdirSync(src, { recursive: true, withFileTypes: true });
  } catch {
    return true;
  }
  for (const e of entries) if (e.isFile() && statSync(`${e.parentPath}/${e.name}`).mtimeMs > built) return false;
  return true;
}

if (process.env.TOLLGATE_FROM_SOURCE !== '1' && distIsCurrent()) {
  // Node 22.1+ keeps V8's compiled code on disk (in the OS temp directory), so a second run skips compiling; Node 20 has no such cache.
  module.enableCompileCache?.();
  await import('../dist/bundle/cli.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
