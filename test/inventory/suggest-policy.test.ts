import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { buildPolicy } from '../../src/engine/policy-version.js';
import { Inventory } from '../../src/inventory/index.js';
import { suggestPolicyCommand } from '../../src/inventory/suggest-cli.js';
import { suggestPolicy, templateToGlob, type ObservedEdge } from '../../src/inventory/suggest-policy.js';
import { decide } from '../../src/policy/decide.js';
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { EmbeddedInventoryStore } from '../../src/store/embedded/inventory-store.js';
import { decision } from './events.js';

const CURRENT = `version: 1
defaults:
  mode: enforce
identities:
  - name: billing
    match: { spiffe: "spiffe://prod.example/ns/billing/sa/*" }
  - name: ci
    match: { xfcc: "spiffe://prod.example/ns/ci/sa/runner" }
  - name: legacy-batch
    match: { sourceCidr: ["10.1.2.0/24"] }
egress:
  - identity: "*"
    allow: [{ host: "*.example.com" }]
`;

/** Observed traffic: [identity, destination, method, template, a concrete path, verdict]. */
const TRAFFIC: Array<[string, string, string, string, string, 'allow' | 'report_deny' | 'deny']> = [
  ['billing', 'api.stripe.com:443', 'GET', '/v1/customers/{id}', '/v1/customers/cus_NffrFeUfNV2Hib', 'allow'],
  ['billing', 'api.stripe.com:443', 'POST', '/v1/charges', '/v1/charges', 'allow'],
  ['billing', 'api.stripe.com:443', 'GET', '/v1/charges/{id}/refunds', '/v1/charges/42/refunds', 'allow'],
  ['billing', 'files.stripe.com:default', 'GET', '/v1/files/{id}', '/v1/files/file_1234567', 'report_deny'],
  ['billing', 'evil.example.net:443', 'POST', '/upload', '/upload', 'deny'],
  ['ci', 'api.github.com:443', 'GET', '/repos/acme/{id}/pulls', '/repos/acme/123/pulls', 'allow'],
  ['ci', 'registry.npmjs.org:443', 'CONNECT', '', '', 'report_deny'],
  ['legacy-batch', '10.1.2.9:8080', 'POST', '/ingest', '/ingest', 'report_deny'],
  ['legacy-batch', 'metrics.internal.net:80', 'PUT', '/v2/series', '/v2/series', 'allow'],
  ['unknown', 'api.stripe.com:443', 'GET', '/v1/balance', '/v1/balance', 'report_deny'],
  ['ghost', 'api.stripe.com:443', 'GET', '/v1/balance', '/v1/balance', 'allow'],
];

function observed(): ObservedEdge[] {
  return TRAFFIC.map(([identity, destination, method, path_template, , verdict]) => ({
    identity,
    destination,
    method,
    path_template,
    allowed: verdict === 'deny' ? 0 : 1,
  }));
}

function authority(destination: string): string {
  return destination.endsWith(':default') ? destination.slice(0, -':default'.length) : destination;
}

describe('suggest-policy', () => {
  it('turns {id} path templates into one-segment globs', () => {
    expect(templateToGlob('/v1/customers/{id}/charges')).toBe('/v1/customers/*/charges');
    expect(templateToGlob('/')).toBe('/');
    expect(templateToGlob(`/long/${'a'.repeat(10)}…`)).toBe(`/long/${'a'.repeat(10)}**`);
  });

  it('produces a policy that validates and allows exactly the observed allowed traffic', () => {
    const suggestion = suggestPolicy(observed(), { base: parse(CURRENT) as Record<string, unknown> });
    const built = buildPolicy(suggestion.yaml);
    if (!built.ok) throw new Error(JSON.stringify(built.problems));
    const policy = built.build.policy;

    for (const [identity, destination, method, , path, verdict] of TRAFFIC) {
      if (identity === 'unknown' || identity === 'ghost') continue;
      const d = decide(policy, { identity, authority: authority(destination), method, path });
      expect({ identity, destination, method, path, verdict: d.verdict }).toEqual({ identity, destination, method, path, verdict: verdict === 'deny' ? 'deny' : 'allow' });
    }

    const notObserved: Array<[string, string, string, string]> = [
      ['billing', 'api.stripe.com', 'DELETE', '/v1/customers/cus_NffrFeUfNV2Hib'],
      ['billing', 'api.stripe.com', 'GET', '/v1/customers/cus_1/secrets'],
      ['billing', 'api.stripe.com', 'GET', '/v1/balance'],
      ['billing', 'api.stripe.com:8443', 'GET', '/v1/charges'],
      ['billing', 'api.github.com', 'GET', '/repos/acme/123/pulls'],
      ['ci', 'api.stripe.com', 'POST', '/v1/charges'],
      ['ci', 'registry.npmjs.org:8443', 'CONNECT', ''],
      ['legacy-batch', '10.1.2.10:8080', 'POST', '/ingest'],
      ['legacy-batch', 'www.example.com', 'GET', '/'],
      ['unknown', 'api.stripe.com', 'GET', '/v1/balance'],
    ];
    for (const [identity, auth, method, path] of notObserved) {
      expect({ identity, auth, method, path, verdict: decide(policy, { identity, authority: auth, method, path }).verdict }).toEqual({ identity, auth, method, path, verdict: 'deny' });
    }
    expect(suggestion.skipped.map((s) => s.identity).sort()).toEqual(['ghost', 'unknown']);
  });

  it('writes one rule per destination with the methods and paths seen, keeping the rest of the current policy', () => {
    const doc = parse(suggestPolicy(observed(), { base: parse(CURRENT) as Record<string, unknown> }).yaml) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['version', 'defaults', 'identities', 'egress']);
    expect((doc.identities as unknown[]).length).toBe(3);
    expect(doc.egress).toEqual([
      {
        identity: 'billing',
        allow: [
          { id: 'billing:api.stripe.com', host: 'api.stripe.com', methods: ['GET', 'POST'], paths: ['/v1/charges', '/v1/charges/*/refunds', '/v1/customers/*'] },
          { id: 'billing:files.stripe.com', host: 'files.stripe.com', methods: ['GET'], paths: ['/v1/files/*'] },
        ],
      },
      {
        identity: 'ci',
        allow: [
          { id: 'ci:api.github.com', host: 'api.github.com', methods: ['GET'], paths: ['/repos/acme/*/pulls'] },
          { id: 'ci:registry.npmjs.org', host: 'registry.npmjs.org', methods: ['CONNECT'] },
        ],
      },
      {
        identity: 'legacy-batch',
        allow: [
          { id: 'legacy-batch:10.1.2.9:8080', host: '10.1.2.9', port: 8080, methods: ['POST'], paths: ['/ingest'] },
          { id: 'legacy-batch:metrics.internal.net:80', host: 'metrics.internal.net', scheme: 'http', port: 80, methods: ['PUT'], paths: ['/v2/series'] },
        ],
      },
    ]);
  });

  it('gives the same YAML for the same traffic in any order', () => {
    const base = parse(CURRENT) as Record<string, unknown>;
    const a = suggestPolicy(observed(), { base, since: new Date(0) }).yaml;
    const b = suggestPolicy(observed().reverse(), { base, since: new Date(0) }).yaml;
    expect(b).toBe(a);
    expect(a).toMatch(/^# Suggested by "tollgate suggest-policy" from traffic observed since 1970-01-01T00:00:00.000Z/);
  });

  it('collapses a rule with very many paths to first-segment globs', () => {
    const many = Array.from({ length: 30 }, (_, i) => ({ identity: 'ci', destination: 'api.github.com:443', method: 'GET', path_template: `/repos/r${i}`, allowed: 1 }));
    many.push({ identity: 'ci', destination: 'api.github.com:443', method: 'GET', path_template: '/user', allowed: 1 });
    const doc = parse(suggestPolicy(many, { maxPathsPerRule: 10 }).yaml) as { egress: Array<{ allow: Array<{ paths: string[] }> }> };
    expect(doc.egress[0]!.allow[0]!.paths).toEqual(['/repos/**', '/user/**']);
  });
});

describe('tollgate suggest-policy', () => {
  afterEach(() => vi.restoreAllMocks());

  async function run(argv: string[]) {
    let stdout = '';
    let stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += `${a.join(' ')}\n`));
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += `${a.join(' ')}\n`));
    const code = await suggestPolicyCommand(argv);
    vi.restoreAllMocks();
    return { code, stdout, stderr };
  }

  it('reads the inventory snapshot of a data directory and prints a policy that validates', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-suggest-'));
    const store = await EmbeddedInventoryStore.open({ dataDir, snapshotIntervalMs: 0 });
    const now = new Date().toISOString();
    const old = new Date(Date.now() - 30 * 86_400_000).toISOString();
    await new Inventory({ store }).ingest([
      decision({ identity: 'billing', destination: 'api.stripe.com:443', method: 'POST', path_template: '/v1/charges', time: now }),
      decision({ identity: 'billing', destination: 'api.stripe.com:443', method: 'GET', path_template: '/v1/charges', verdict: 'deny', time: now }),
      decision({ identity: 'ci', destination: 'old.example.org:443', time: old }),
    ]);
    await store.close();
    const policyFile = join(dataDir, 'current.yaml');
    writeFileSync(policyFile, CURRENT);

    const out = await run(['--since', '7d', '--data', dataDir, '--policy', policyFile]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(buildPolicy(out.stdout).ok).toBe(true);
    const doc = parse(out.stdout) as { egress: unknown[] };
    expect(doc.egress).toEqual([{ identity: 'billing', allow: [{ id: 'billing:api.stripe.com', host: 'api.stripe.com', methods: ['POST'], paths: ['/v1/charges'] }] }]);
  });

  it('reads the audit log when the data directory has one, counting exactly the --since window', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-suggest-audit-'));
    const audit = await EmbeddedAuditStore.open({ dataDir, maintenanceIntervalMs: 0 });
    const now = new Date().toISOString();
    const old = new Date(Date.now() - 10 * 86_400_000).toISOString();
    await audit.append([
      decision({ identity: 'ci', destination: 'api.github.com:443', method: 'GET', path_template: '/repos/acme/{id}', time: now }),
      decision({ identity: 'ci', destination: 'api.github.com:443', method: 'POST', path_template: '/repos/acme/{id}', time: old }),
      decision({ identity: 'ci', destination: 'uploads.example.net:443', method: 'PUT', path_template: '/x', verdict: 'deny', time: now }),
    ]);
    await audit.close();
    const policyFile = join(dataDir, 'current.yaml');
    writeFileSync(policyFile, CURRENT);

    const out = await run(['--since', '7d', '--data', dataDir, '--policy', policyFile]);
    expect(out.code).toBe(0);
    expect((parse(out.stdout) as { egress: unknown[] }).egress).toEqual([
      { identity: 'ci', allow: [{ id: 'ci:api.github.com', host: 'api.github.com', methods: ['GET'], paths: ['/repos/acme/*'] }] },
    ]);
  });

  it('explains a missing snapshot, a bad --since and prints --help', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'tollgate-suggest-empty-'));
    expect(await run(['--data', empty])).toMatchObject({ code: 1, stderr: expect.stringContaining('no inventory snapshot') });
    expect(await run(['--since', 'last tuesday'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--since "last tuesday"') });
    const bad = join(empty, 'bad.yaml');
    writeFileSync(bad, 'version: 1\nidentities:\n  - { name: ci, match: { signedSubject: ci-runner } }\n');
    expect(await run(['--policy', bad, '--data', empty])).toMatchObject({ code: 1, stderr: expect.stringContaining('signedHeader is not configured') });
    expect(await run(['--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: tollgate suggest-policy') });
  });
});
