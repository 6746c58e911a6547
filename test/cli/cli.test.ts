import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-'));

async function tollgate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', ['bin/tollgate.js', ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// Each test starts the CLI in a child process (tsx compiles it on start): generous time when the machine is busy.
describe('tollgate CLI', { timeout: 120_000 }, () => {
  it('validate accepts the example policy', async () => {
    const out = await tollgate('validate', 'examples/policy.yaml');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/valid \(\d+ rules/);
  });

  it('validate prints every problem with its path and exits 1', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'version: 1',
        'identities:',
        '  - { name: web, match: { sourceCidr: "10.0.0.0/33" } }',
        'egress:',
        '  - identity: web',
        '    allow: [{ host: ok.example.com }]',
        '  - identity: web',
        '    allow: [{ host: ok.example.com }]',
        '  - identity: web',
        '    allow:',
        '      - { host: "api.*.example.com", methods: [get] }',
        '      - { host: good.example.com, colour: blue }',
      ].join('\n'),
    );
    const out = await tollgate('validate', file);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('egress[2].allow[0].host: wildcard must be a leading "*."');
    expect(out.stderr).toContain('egress[2].allow[0].methods[0]: methods are upper-case HTTP method names');
    expect(out.stderr).toContain('egress[2].allow[1]: unknown field "colour"');
  });

  it('validate reports cross-reference problems such as an unknown identity or a bad CIDR', async () => {
    const file = join(dir, 'refs.yaml');
    writeFileSync(file, 'version: 1\nidentities:\n  - { name: web, match: { sourceCidr: "10.0.0.0/33" } }\negress:\n  - identity: ghost\n    allow: [{ host: ok.example.com }]\n');
    const out = await tollgate('validate', file);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('egress[0].identity: unknown identity "ghost"');
  });

  it('validate reports schema and reference problems together, and --json gives them as data', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-validate-')), 'bad.yaml');
    writeFileSync(file, 'version: 1\nidentities:\n  - { name: a, match: { spiffe: "spiffe://x/y" } }\negress:\n  - identity: ghost\n    allow: [{ host: api.x.com, port: 99999 }]\n');
    const text = await tollgate('validate', file);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain('egress[0].allow[0].port');
    expect(text.stderr).toContain('egress[0].identity: unknown identity "ghost"');
    const json = await tollgate('validate', '--json', file);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, problems: expect.arrayContaining([expect.objectContaining({ path: 'egress[0].identity' })]) });
    const good = JSON.parse((await tollgate('validate', '--json', 'examples/policy.yaml')).stdout);
    expect(good).toMatchObject({ valid: true, problems: [], rules: 5, identities: 3 });
  });

  it('decide explains an allow and exits 0, and a denial exits 3', async () => {
    const allow = await tollgate('decide', '--policy', 'examples/policy.yaml', '--principal', 'spiffe://prod.example/ns/billing/sa/web', '--host', 'api.stripe.com', '--method', 'POST', '--path', '/v1/charges/ch_1');
    expect(allow.code).toBe(0);
    expect(allow.stdout).toContain('rule:   stripe-api');
    const deny = await tollgate('decide', '--policy', 'examples/policy.yaml', '--identity', 'billing', '--host', 'evil.example.com', '--json');
    expect(deny.code).toBe(3);
    expect(JSON.parse(deny.stdout)).toMatchObject({ allowed: false, rule: 'default-deny' });
  });

  it('decide runs the DNS guard a Check runs on wildcard matches, and names an identity the policy does not define', async () => {
    // No resolver answers in the test sandbox for this name: the Check fails closed, so the what-if must too.
    const wildcard = await tollgate('decide', '--policy', 'examples/policy.yaml', '--identity', 'ci', '--host', 'no-such-host.github.com', '--json');
    expect(wildcard.code).toBe(3);
    expect(JSON.parse(wildcard.stdout)).toMatchObject({ allowed: false, rule: 'ssrf-guard' });
    const ghost = await tollgate('decide', '--policy', 'examples/policy.yaml', '--identity', 'nosuch', '--host', 'api.stripe.com');
    expect(ghost.stderr).toContain('identity "nosuch" is not defined');
    expect(ghost.stderr).toContain('billing');
  });

  it('serve with a too-short admin token says which setting and why, in one line, not a schema dump', async () => {
    const out = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile('node', ['bin/tollgate.js', 'serve', '--data', join(tmpdir(), 'tollgate-never-started')], { env: { ...process.env, TOLLGATE_ADMIN_TOKEN: 'short' } }, (err, _stdout, stderr) => resolve({ code: (err as { code?: number } | null)?.code ?? 0, stderr })),
    );
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('adminToken: admin token must be at least 16 characters');
    expect(out.stderr).not.toContain('"code"');
  });

  it('serve refuses the published HMAC secret of the example policy unless --demo says this is the demo', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-demo-'));
    const out = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile('node', ['bin/tollgate.js', 'serve', '--policy', 'examples/policy.yaml', '--grpc', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--data', dataDir], (err, _stdout, stderr) => resolve({ code: (err as { code?: number } | null)?.code ?? 0, stderr })),
    );
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('signedHeader.hmac.secret');
    expect(out.stderr).toContain('--demo');
  });

  it('bootstrap prints an Envoy bootstrap that points ADS at Tollgate', async () => {
    const out = await tollgate('bootstrap', '--node-id', 'gw-7', '--xds', 'tollgate:7070');
    const doc = parse(out.stdout);
    expect(doc.node.id).toBe('gw-7');
    expect(doc.dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name).toBe('tollgate_xds');
    expect(doc.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({ address: 'tollgate', port_value: 7070 });
  });

  it('bootstrap --envoy-token-env puts the Envoy token into the ADS stream metadata, and refuses without one', async () => {
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync('node', ['bin/tollgate.js', 'bootstrap', '--envoy-token-env'], { env: { ...process.env, TOLLGATE_ENVOY_TOKEN: 'envoy-shared-token-0123456789' } }).toString();
    expect(parse(out).dynamic_resources.ads_config.grpc_services[0].initial_metadata).toEqual([{ key: 'x-tollgate-token', value: 'envoy-shared-token-0123456789' }]);
    const env = { ...process.env };
    delete env.TOLLGATE_ENVOY_TOKEN;
    const missing = await new Promise<number>((resolve) => execFile('node', ['bin/tollgate.js', 'bootstrap', '--envoy-token-env'], { env }, (err) => resolve((err as { code?: number } | null)?.code ?? 0)));
    expect(missing).toBe(2);
  });

  it('--version prints the package version, and the top-level help gives each command a whole sentence', async () => {
    const v = await tollgate('--version');
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^tollgate \d+\.\d+\.\d+ \(node /);
    const help = await tollgate('--help');
    for (const line of help.stdout.split('\n').filter((l) => /^ {2}[a-z-]+ {2,}/.test(l))) expect(line.trimEnd(), line).toMatch(/[.a-z)]$/);
    expect(help.stdout).toContain('Starts the gRPC port');
  });

  it('every command has --help', async () => {
    for (const cmd of ['serve', 'validate', 'decide', 'bootstrap', 'scan']) {
      const out = await tollgate(cmd, '--help');
      expect(out.code).toBe(0);
      expect(out.stdout).toContain(`Usage: tollgate ${cmd}`);
    }
  });
});

describe('tollgate scan', () => {
  it('--jsonl answers one line per input with UTF-16 offsets, actions and the scrubbed text', async () => {
    const { execFileSync } = await import('node:child_process');
    const input = `${JSON.stringify({ id: 'a', text: 'mail jane.doe@example.com' })}\n${JSON.stringify({ id: 'b', text: 'nothing here' })}\n`;
    const out = execFileSync('node', ['bin/tollgate.js', 'scan', '--jsonl'], { input }).toString().trim().split('\n').map((l) => JSON.parse(l));
    expect(out[0]).toEqual({ id: 'a', findings: [{ type: 'email', start: 5, end: 25, action: 'redact' }], scrubbed: 'mail [REDACTED:email]' });
    expect(out[1]).toEqual({ id: 'b', findings: [], scrubbed: 'nothing here' });
  });
});
