import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** The dashboard's own files (ES modules, CSS, HTML), shipped in the package next to `src/`. */
export const UI_DIR = fileURLToPath(new URL('../../ui/', import.meta.url));

/** Library modules the dashboard imports, served by exact path from node_modules: no bundler, no CDN. */
const VENDOR: Record<string, { pkg: string; file: string }> = {
  'preact.mjs': { pkg: 'preact', file: 'dist/preact.mjs' },
  'preact-hooks.mjs': { pkg: 'preact', file: 'hooks/dist/hooks.mjs' },
  'htm.mjs': { pkg: 'htm', file: 'dist/htm.module.js' },
};

/** Bare specifiers → vendor URLs; inline in index.html because Chromium does not load external import maps. */
export const IMPORT_MAP = JSON.stringify({ imports: { preact: '/ui/vendor/preact.mjs', 'preact/hooks': '/ui/vendor/preact-hooks.mjs', htm: '/ui/vendor/htm.mjs' } });

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const requireFrom = createRequire(import.meta.url);

function packageDir(name: string): string {
  let dir = dirname(requireFrom.resolve(name));
  while (basename(dir) !== name && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/**
 * GET /ui/ and its assets. Public (no token): they hold no data; every API call the page makes carries the
 * token the user typed. A strict CSP allows only this origin's scripts plus the inline import map, by hash.
 */
export function uiRoutes(app: FastifyInstance, dir: string = UI_DIR): void {
  const importMapHash = createHash('sha256').update(IMPORT_MAP).digest('base64');
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'sha256-${importMapHash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join('; ');
  const cache = new Map<string, Buffer>();
  const load = async (file: string): Promise<Buffer | undefined> => {
    let body = cache.get(file);
    if (body) return body;
    try {
      body = await readFile(file);
    } catch {
      return undefined;
    }
    // Files are read once per process: the dashboard ships with the package and changes only with it.
    if (process.env.TOLLGATE_UI_NO_CACHE !== '1') cache.set(file, body);
    return body;
  };
  const send = (reply: FastifyReply, file: string, body: Buffer) =>
    reply
      .header('content-type', TYPES[extname(file)] ?? 'application/octet-stream')
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('content-security-policy', csp)
      .send(body);

  app.get('/ui', async (_req, reply) => reply.redirect('/ui/', 301));
  app.get('/ui/', async (_req, reply) => {
    const file = join(dir, 'index.html');
    const html = await load(file);
    if (!html) return reply.code(500).send({ error: 'internal', message: 'ui/index.html is missing from this installation' });
    return send(reply, file, Buffer.from(html.toString('utf8').replace('<!--IMPORT_MAP-->', `<script type="importmap">${IMPORT_MAP}</script>`)));
  });
  app.get('/ui/vendor/:name', async (req, reply) => {
    const entry = VENDOR[(req.params as { name: string }).name];
    if (!entry) return reply.code(404).send({ error: 'not_found', message: 'no such dashboard library' });
    const file = join(packageDir(entry.pkg), entry.file);
    const body = await load(file);
    if (!body) return reply.code(500).send({ error: 'internal', message: `${entry.pkg} is not installed: run npm install` });
    return send(reply, file, body);
  });
  app.get('/ui/*', async (req, reply) => {
    const rel = normalize((req.params as { '*': string })['*']);
    const file = join(dir, rel);
    if (rel.startsWith('..') || !file.startsWith(dir.endsWith(sep) ? dir : dir + sep) || !(extname(file) in TYPES)) {
      return reply.code(404).send({ error: 'not_found', message: 'no such dashboard file' });
    }
    const body = await load(file);
    if (!body) return reply.code(404).send({ error: 'not_found', message: 'no such dashboard file' });
    return send(reply, file, body);
  });
}
