#!/usr/bin/env node
// Compiles src/ into dist/ (ESM, one .js per .ts, same layout) so `tollgate` starts without tsx.
// esbuild rather than tsc: it is the transform tsx already applies when running src/ (same output, so the
// tests that run src/ vouch for dist/), it takes ~1 s for the whole tree, and it is a production dependency,
// so `npm ci --omit=dev` can build too. Type checking stays `npm run typecheck`.
// Two outputs: dist/<same path>.js for every module (the server runs these: `serve` and its worker), and
// dist/bundle/, the CLI's commands bundled with their pure-JS dependencies into a few chunks: loading
// ~300 small modules (zod, libphonenumber-js, jose file by file) was most of a command's start-up, see
// docs/benchmarks.md (CLI start-up).
// dist/ is swapped in whole: a `tollgate` started mid-build runs the old dist/ or, in the instant between
// the renames, src/ through tsx (bin/tollgate.js), never half a tree.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
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
// The rest (worker entries in plain .mjs, any data file) goes to the same place, so import.meta.url-relative paths hold.
const assets = files.filter((e) => !e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));

const BUNDLE_EXTERNAL = ['pino', 'pino-*', 'thread-stream', 'sonic-boom', '@grpc/*', 'protobufjs', 'fastify', '@fastify/*', 'ioredis', 'prom-client', 'tsx', 'esbuild'];

/** `serve` is not bundled: the bundle imports it from the per-module tree (dist/cli/serve.js), worker and all. */
const serveFromTree = {
  name: 'serve-from-tree',
  setup(b) {
    b.onResolve({ filter: /^\.\/serve\.js$/ }, (args) => (args.importer === join(src, 'cli', 'commands.ts') ? { path: '../cli/serve.js', external: true } : undefined));
  },
};

/**
 * In a chunk, import.meta.url is the chunk's (dist/bundle/chunk-X.js), not the module's. Each module's own
 * import.meta.url becomes the URL of its twin in the per-module tree (dist/admin/ui.js...), so paths relative
 * to it (../../ui/, ../package.json, a worker file, createRequire) resolve as they do from src/.
 */
const moduleUrls = {
  name: 'module-urls',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(src)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const twin = `../${relative(src, args.path).replace(/\.ts$/, '.js')}`;
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(twin)}, import.meta.url).href`), loader: 'ts' };
    });
  },
};

const tmp = `${dist}.${process.pid}.tmp`;
rmSync(tmp, { recursive: true, force: true });
try {
  await build({ entryPoints, outdir: tmp, outbase: src, format: 'esm', platform: 'node', target: 'node20', sourcemap: 'linked', logLevel: 'warning' });
  await build({
    entryPoints: [join(src, 'cli.ts')],
    outdir: join(tmp, 'bundle'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
    // Packages that start workers or read files beside their own code, and the server-only stacks, load from node_modules.
    external: BUNDLE_EXTERNAL,
    // Bundled CommonJS (yaml, ipaddr.js...) calls require(); an ES module has none of its own.
    banner: { js: "import { createRequire as __tollgateCreateRequire } from 'node:module';\nconst require = __tollgateCreateRequire(import.meta.url);" },
    plugins: [serveFromTree, moduleUrls],
  });
  for (const file of assets) {
    const to = join(tmp, file.slice(src.length));
    mkdirSync(dirname(to), { recursive: true });
    // A worker entry X.mjs beside X.ts registers tsx and imports X.ts (Node runs no .ts in a worker by itself);
    // in dist/ it just loads the compiled X.js.
    const ts = file.replace(/\.mjs$/, '.ts');
    if (file.endsWith('.mjs') && existsSync(ts)) writeFileSync(to, `// Compiled worker entry (scripts/build-dist.mjs): ${relative(src, file)} without tsx.\nimport './${basename(ts, '.ts')}.js';\n`);
    else copyFileSync(file, to);
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
