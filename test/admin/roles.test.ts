import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { roleNeeded } from '../../src/admin/roles.js';
import { auditCommand } from '../../src/audit/cli.js';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/server.js';

const VIEWER = 'viewer-token-0123456789abcdef';
const EDITOR = 'editor-token-0123456789abcdef';
const OPS = 'ops-token-hashed-0123456789abcdef';
const OLD_STYLE = 'single-admin-token-0123456789ab';
const HMAC_SECRET = 'hmac-secret-0123456789-never-in-the-log';
const NEW_SECRET = 'rotated-hmac-secret-0123456789-never-logged';

const policy = (secret: string, host: string) => `version: 1
signedHeader:
  header: x-tollgate-identity
  hmac:
    secret: { value: "${secret}" }
identities:
  - { name: ci, match: { signedSubject: ci-runner } }
egress:
  - identity: ci
    allow:
      - { id: api, host: ${host} }
`;
const POLICY_A = policy(HMAC_SECRET, 'a.example.com');
const POLICY_B = policy(NEW_SECRET, 'b.example.com');

const TOKENS_YAML = `- { name: alice, role: viewer, token: ${VIEWER} }
- { name: bob, role: editor, token: ${EDITOR} }
- name: ops
  role: admin
  sha256: ${createHash('sha256').update(OPS).digest('hex')}
`;

interface Running {
  dir: string;
  server: RunningServer;
  admin(path: string, token: string | undefined, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(tokensFile: string | undefined, opts: { adminToken?: string; watch?: boolean } = {}): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-roles-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'policy.yaml'), POLICY_A);
  let file: string | undefined;
  if (tokensFile !== undefined) {
    file = join(dir, 'tokens.yaml');
    writeFileSync(file, tokensFile);
  }
  const config = loadConfig(
    { grpcAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', dataDir: join(dir, 'data'), policyFile: join(dir, 'policy.yaml'), adminTokensFile: file, adminToken: opts.adminToken, watchPolicy: opts.watch ?? false },
    {},
  );
  const server = await startServer(config, { logger: pino({ level: 'silent' }), lookup: async () => ['93.184.216.34'] });
  return {
    dir,
    server,
    admin: (path, token, init = {}) => fetch(`http://127.0.0.1:${server.adminPort}${path}`, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string> | undefined) } }),
    stop: () => server.close(),
  };
}

async function adminRecords(r: Running, token: string): Promise<Array<Record<string, unknown>>> {
  const res = await r.admin('/v1/audit?kind=admin', token);
  expect(res.status).toBe(200);
  return ((await res.json()) as { records: Array<Record<string, unknown>> }).records;
}

async function verify(dataDir: string): Promise<{ code: number; out: string }> {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (b: Buffer) => chunks.push(b));
  const code = await auditCommand(['verify', '--data', dataDir], { stdout, stderr: stdout });
  return { code, out: Buffer.concat(chunks).toString() };
}

function put(r: Running, token: string, body: string, etag?: string): Promise<Response> {
  return r.admin('/v1/policy', token, { method: 'PUT', headers: { 'content-type': 'application/yaml', ...(etag ? { 'if-match': etag } : {}) }, body });
}

describe('admin roles', () => {
  let r: Running;
  beforeAll(async () => {
    r = await start(TOKENS_YAML);
  });
  afterAll(() => r.stop());

  it('a viewer can read the policy and ask what-if questions, but its PUT is refused with 403 naming the role it needs', async () => {
    const get = await r.admin('/v1/policy', VIEWER);
    expect(get.status).toBe(200);
    expect((await r.admin('/v1/audit', VIEWER)).status).toBe(200);
    const decide = await r.admin('/v1/decide', VIEWER, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity: 'ci', host: 'a.example.com', method: 'GET', path: '/' }) });
    expect(decide.status).toBe(200);
    const validate = await r.admin('/v1/policy:validate', VIEWER, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: POLICY_B });
    expect(validate.status).toBe(200);
    const refused = await put(r, VIEWER, POLICY_B, get.headers.get('etag')!);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: 'forbidden', role: 'viewer', needs: 'editor' });
    expect((await r.admin('/v1/alerts/test', VIEWER, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(403);
    expect((await r.admin('/v1/policy', VIEWER)).headers.get('etag')).toBe(get.headers.get('etag'));
  });

  it('an unknown token is 401, not 403, and health probes stay open', async () => {
    expect((await r.admin('/v1/policy', 'not-a-known-token-0123456789')).status).toBe(401);
    expect((await r.admin('/v1/policy', undefined)).status).toBe(401);
    expect((await r.admin('/healthz', undefined)).status).toBe(200);
  });

  it('a token listed in the tokens file only by its SHA-256 is accepted with its role', async () => {
    expect((await r.admin('/v1/policy', OPS)).status).toBe(200);
    expect((await r.admin('/v1/policy', createHash('sha256').update(OPS).digest('hex'))).status).toBe(401);
  });

  it('an editor installs a policy; the audit log names who, role and the redacted diff, and never the secret', async () => {
    const etag = (await r.admin('/v1/policy', EDITOR)).headers.get('etag')!;
    const res = await put(r, EDITOR, POLICY_B, etag);
    expect(res.status).toBe(200);
    const installed = ((await res.json()) as { version: number }).version;
    const [rec] = (await adminRecords(r, VIEWER)).filter((x) => x.action === 'policy.update');
    expect(rec).toMatchObject({ kind: 'admin', who: 'bob', role: 'editor', action: 'policy.update', from_version: installed - 1, to_version: installed, remote: '127.0.0.1' });
    const diff = rec!.diff as string[];
    expect(diff).toContain('-      - { id: api, host: a.example.com }');
    expect(diff).toContain('+      - { id: api, host: b.example.com }');
    expect(diff.some((l) => l.startsWith('+') && l.includes('<redacted sha256:'))).toBe(true);
    const everything = JSON.stringify(await adminRecords(r, VIEWER));
    for (const secret of [HMAC_SECRET, NEW_SECRET, EDITOR, VIEWER]) expect(everything).not.toContain(secret);
  });

  it('a stale ETag and a forbidden PUT are recorded as refused attempts with their reason', async () => {
    const stale = await put(r, EDITOR, POLICY_A, '"1-0000000000000000"');
    expect(stale.status).toBe(409);
    expect((await put(r, VIEWER, POLICY_A)).status).toBe(403);
    const refused = (await adminRecords(r, OPS)).filter((x) => x.action === 'policy.update.refused');
    expect(refused).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ who: 'bob', role: 'editor', reason: 'etag_mismatch' }),
        expect.objectContaining({ who: 'alice', role: 'viewer', reason: 'forbidden' }),
      ]),
    );
  });
});

describe('the admin audit trail', () => {
  let r: Running | undefined;
  afterEach(async () => {
    await r?.stop();
    r = undefined;
  });

  it('admin records join the same hash chain, and tollgate audit verify passes over them', async () => {
    r = await start(TOKENS_YAML);
    const etag = (await r.admin('/v1/policy', EDITOR)).headers.get('etag')!;
    expect((await put(r, EDITOR, POLICY_B, etag)).status).toBe(200);
    await r.stop();
    const dataDir = join(r.dir, 'data');
    r = undefined;
    const result = await verify(dataDir);
    expect(result.out).toMatch(/ok/);
    expect(result.code).toBe(0);
    const lines = readdirSync(join(dataDir, 'audit'))
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(join(dataDir, 'audit', f), 'utf8').split('\n'));
    expect(lines.some((l) => l.includes('"kind":"admin"') && l.includes('"who":"bob"'))).toBe(true);
    expect(lines.join('\n')).not.toContain(NEW_SECRET);
  });

  it('a policy-file reload is recorded with who "file"', async () => {
    r = await start(TOKENS_YAML, { watch: true });
    writeFileSync(join(r.dir, 'policy.yaml'), POLICY_B);
    let rec: Record<string, unknown> | undefined;
    for (let i = 0; i < 200 && !rec; i++) {
      await new Promise((done) => setTimeout(done, 25));
      rec = (await adminRecords(r, VIEWER)).find((x) => x.who === 'file');
    }
    expect(rec).toMatchObject({ kind: 'admin', who: 'file', action: 'policy.update' });
    expect(rec!.diff).toContain('+      - { id: api, host: b.example.com }');
  });

  it('a token configured the old way is role admin and named "admin"', async () => {
    r = await start(undefined, { adminToken: OLD_STYLE });
    const etag = (await r.admin('/v1/policy', OLD_STYLE)).headers.get('etag')!;
    expect((await put(r, OLD_STYLE, POLICY_B, etag)).status).toBe(200);
    expect((await adminRecords(r, OLD_STYLE))[0]).toMatchObject({ who: 'admin', role: 'admin' });
  });

  it('without any token, loopback callers keep every right and are recorded as "loopback"', async () => {
    r = await start(undefined);
    const etag = (await r.admin('/v1/policy', undefined)).headers.get('etag')!;
    expect((await put(r, '', POLICY_B, etag)).status).toBe(200);
    expect((await r.admin('/v1/audit?kind=admin', undefined).then((x) => x.json()) as { records: unknown[] }).records[0]).toMatchObject({ who: 'loopback', role: 'admin' });
  });
});

describe('the tokens file', () => {
  it.each([
    ['a short token', `- { name: alice, role: viewer, token: short-secret }\n`, '[0] (alice).token: a token must be at least 16 characters', 'short-secret'],
    ['an unknown role', `- { name: alice, role: viewer, token: ${VIEWER} }\n- { name: root, role: superuser, token: ${EDITOR} }\n`, '[1] (root).role', EDITOR],
    ['a duplicate name', `- { name: alice, role: viewer, token: ${VIEWER} }\n- { name: alice, role: editor, token: ${EDITOR} }\n`, '[1] (alice).name: duplicate name "alice"', EDITOR],
    ['both token and sha256', `- { name: alice, role: viewer, token: ${VIEWER}, sha256: ${'a'.repeat(64)} }\n`, '[0] (alice): give exactly one of token or sha256', VIEWER],
    ['a malformed sha256', `- { name: alice, role: viewer, sha256: abc }\n`, '[0] (alice).sha256: the hex SHA-256 of the token (64 hex digits)', 'abc"'],
  ])('with %s is refused at startup, naming the entry and never printing the token', async (_what, text, named, secret) => {
    const err = (await start(text).then(
      (r) => r.stop().then(() => undefined),
      (e: unknown) => e,
    )) as Error | undefined;
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain('tokens.yaml');
    expect(err!.message).toContain(named);
    expect(err!.message).not.toContain(secret);
  });

  it('is accepted as JSON too', async () => {
    const r = await start(JSON.stringify([{ name: 'carol', role: 'editor', token: EDITOR }]));
    expect((await r.admin('/v1/policy', EDITOR)).status).toBe(200);
    await r.stop();
  });
});

describe('which role a route needs', () => {
  it('reads and read-only computations need viewer, policy writes and alert tests editor, anything else admin', () => {
    expect(roleNeeded('GET', '/v1/inventory/graph')).toBe('viewer');
    expect(roleNeeded('POST', '/v1/policy:impact')).toBe('viewer');
    expect(roleNeeded('POST', '/v1/policy%3Avalidate')).toBe('viewer');
    expect(roleNeeded('PUT', '/v1/policy')).toBe('editor');
    expect(roleNeeded('POST', '/v1/alerts/test')).toBe('editor');
    expect(roleNeeded('DELETE', '/v1/policy')).toBe('admin');
    expect(roleNeeded('POST', '/v1/something-new')).toBe('admin');
  });
});
