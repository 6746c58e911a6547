import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { AdminRole } from '../events/types.js';

export type { AdminRole };

/** One accepted admin token: its name (what the audit log shows), its role, and the SHA-256 of the token. */
export interface AdminToken {
  name: string;
  role: AdminRole;
  digest: Buffer;
}

/** Who made an admin request, as routes and the audit log see it. */
export interface AdminCaller {
  name: string;
  role: AdminRole;
}

const RANK: Record<AdminRole, number> = { viewer: 0, editor: 1, admin: 2 };

export function roleAllows(role: AdminRole, needs: AdminRole): boolean {
  return RANK[role] >= RANK[needs];
}

/** Computations that install nothing: a viewer may run them. */
const READ_ONLY_POSTS = new Set(['/v1/decide', '/v1/policy:validate', '/v1/policy:impact']);
const EDITOR_WRITES = new Set(['PUT /v1/policy', 'POST /v1/alerts/test']);

/** The least role a request needs: viewer reads, editor changes the policy and tests alerts, admin everything else (future routes too). */
export function roleNeeded(method: string, path: string): AdminRole {
  const p = decodePath(path);
  if (method === 'GET' || method === 'HEAD') return 'viewer';
  if (method === 'POST' && READ_ONLY_POSTS.has(p)) return 'viewer';
  if (EDITOR_WRITES.has(`${method} ${p}`)) return 'editor';
  return 'admin';
}

/** `/v1/policy%3Avalidate` is the same route as `/v1/policy:validate`; a trailing slash too. */
function decodePath(path: string): string {
  let p = path;
  try {
    p = decodeURIComponent(path);
  } catch {
    // an undecodable path matches no read-only route: it needs admin
  }
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

export const MIN_TOKEN_CHARS = 16;

const entrySchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, '1-64 letters, digits, ".", "_", "@" or "-"'),
    role: z.enum(['viewer', 'editor', 'admin']),
    token: z.string().min(MIN_TOKEN_CHARS, `a token must be at least ${MIN_TOKEN_CHARS} characters`).optional(),
    sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'the hex SHA-256 of the token (64 hex digits)').optional(),
  })
  .refine((e) => (e.token === undefined) !== (e.sha256 === undefined), { message: 'give exactly one of token or sha256' });

export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** Thrown at startup for a tokens file that cannot be used; the message names the file and every bad entry. */
export class AdminTokensError extends Error {}

/** Parses a tokens file's text (YAML or JSON: a list of `{name, role, token}` or `{name, role, sha256}`); throws naming each bad entry. */
export function parseAdminTokens(text: string, file: string): AdminToken[] {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 0 });
  } catch (err) {
    throw new AdminTokensError(`admin tokens file ${file}: not YAML or JSON (${(err as Error).message.split('\n')[0]})`);
  }
  if (!Array.isArray(doc) || doc.length === 0) throw new AdminTokensError(`admin tokens file ${file}: expected a non-empty list of { name, role, token | sha256 }`);
  const problems: string[] = [];
  const tokens: AdminToken[] = [];
  const names = new Set<string>();
  doc.forEach((raw: unknown, i) => {
    const label = typeof (raw as { name?: unknown } | null)?.name === 'string' ? `[${i}] (${String((raw as { name: string }).name).slice(0, 64)})` : `[${i}]`;
    const parsed = entrySchema.safeParse(raw);
    if (!parsed.success) {
      // Issues name fields only: a rejected token value never reaches a message or a log.
      for (const issue of parsed.error.issues) problems.push(`${label}${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`);
      return;
    }
    const e = parsed.data;
    if (names.has(e.name)) problems.push(`${label}.name: duplicate name "${e.name}"`);
    names.add(e.name);
    tokens.push({ name: e.name, role: e.role, digest: e.token !== undefined ? tokenDigest(e.token) : Buffer.from(e.sha256!, 'hex') });
  });
  if (problems.length > 0) throw new AdminTokensError(`admin tokens file ${file}:\n  ${problems.join('\n  ')}`);
  return tokens;
}

/** Every admin token from the configuration: the single `adminToken` (name and role `admin`) plus the tokens file's entries. */
export async function loadAdminTokens(opts: { adminToken?: string; adminTokensFile?: string }): Promise<AdminToken[]> {
  const tokens: AdminToken[] = [];
  if (opts.adminToken) tokens.push({ name: 'admin', role: 'admin', digest: tokenDigest(opts.adminToken) });
  if (opts.adminTokensFile) {
    let text: string;
    try {
      text = await readFile(opts.adminTokensFile, 'utf8');
    } catch (err) {
      throw new AdminTokensError(`admin tokens file ${opts.adminTokensFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    for (const t of parseAdminTokens(text, opts.adminTokensFile)) {
      if (tokens.some((o) => o.name === t.name)) throw new AdminTokensError(`admin tokens file ${opts.adminTokensFile}: name "${t.name}" is already the name of TOLLGATE_ADMIN_TOKEN`);
      tokens.push(t);
    }
  }
  return tokens;
}
