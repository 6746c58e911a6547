import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { decodeJsonEscapes, decodePercent } from '../../src/scrub/decode.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { EnvoyExtProcDriver } from '../drivers/envoy-ext-proc-driver.js';
import { fakeLookup } from '../support/server.js';
import { sendAccessLogs as sendAls } from '../support/als-client.js';

/** Real values of the shapes Tollgate detects (see test/scrub/detectors.test.ts); none may be stored anywhere. */
const SECRETS = {
  aws: 'AKIAZ7QRSTUVWXYZ2345',
  github: 'ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5',
  jwt: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
  slack: 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx',
  stripe: 'sk_live_4eC39HqLyjWDarjtT1zdp7dc',
  email: 'alice.leak@example.com',
  email2: 'bob.leak@example.org',
  ssn: '536-22-8514',
  card: '4111 1111 1111 1111',
  cardPlain: '5500005555555559',
};
const VALUES = Object.values(SECRETS);
/** Types whose detection in stored text counts as a leak (IPs are Tollgate's own addresses; ids and times can look like phones). */
const LEAK_TYPES = new Set(['aws_access_key_id', 'github_token', 'jwt', 'slack_token', 'stripe_secret_key', 'email', 'us_ssn', 'credit_card', 'bearer_token', 'basic_auth']);
const ADMIN_TOKEN = 'leak-scan-admin-token-0001';
/** An inline policy secret (issue 9: `GET /v1/policy` must not return it) and the scrub fingerprint key. */
const POLICY_SECRETS = ['leak-scan-hmac-secret-7f3a9c1e5b', 'leak-scan-fingerprint-key-42d8e6'];
const POLICY = `version: 1
signedHeader:
  header: x-tollgate-identity
  hmac: { secret: { value: "${POLICY_SECRETS[0]}" } }
identities:
  - { name: billing, match: { spiffe: "spiffe://prod.example/ns/billing/sa/*" } }
egress:
  - identity: billing
    allow: [{ id: stripe, host: api.stripe.com, methods: [GET], paths: ["/v1/charges/**"] }, { id: example, host: api.example.com }]
scrub:
  bufferLimitBytes: 1024
  fingerprintKey: { value: "${POLICY_SECRETS[1]}" }
`;

let server: RunningServer;
let dir: string;
const logLines: string[] = [];

function admin(path: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${server.adminPort}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
}

const sendAccessLogs = (entries: unknown[]) => sendAls(server.grpcPort, entries);

/** Every place Tollgate wrote something a person or a later process can read. */
const outputs = new Map<string, string>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-leak-'));
  const policyPath = join(dir, 'policy.yaml');
  writeFileSync(policyPath, POLICY);
  const config = loadConfig({ grpcAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', dataDir: join(dir, 'data'), policyFile: policyPath, adminToken: ADMIN_TOKEN, watchPolicy: false }, {});
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logLines.push(line);
      done();
    },
  });
  server = await startServer(config, { logger: pino({ level: 'info' }, sink), lookup: fakeLookup });

  const principal = 'spiffe://prod.example/ns/billing/sa/web';
  const authz = new EnvoyExtAuthzDriver(server.grpcPort);
  const paths = [
    `/v1/users/${SECRETS.email}/keys/${SECRETS.aws}`,
    `/v1/users/${encodeURIComponent(SECRETS.email2)}?token=${SECRETS.github}&ssn=${SECRETS.ssn}`,
    `/v1/session/${SECRETS.jwt}`,
    `/v1/cards/${SECRETS.cardPlain}/ssn/${SECRETS.ssn}`,
    `/hooks/${SECRETS.slack}?key=${SECRETS.stripe}`,
  ];
  for (const [i, path] of paths.entries()) {
    for (const authority of ['api.example.com', 'evil.example.net']) {
      await authz.check({
        method: 'POST',
        authority,
        path,
        peerPrincipal: principal,
        headers: { 'x-request-id': `leak-${i}-${authority}`, authorization: `Bearer ${SECRETS.github}`, 'x-api-key': SECRETS.stripe, cookie: `session=${SECRETS.jwt}`, 'x-user': SECRETS.email },
      });
    }
  }
  // A near miss (the host matches a rule, the path or method does not), an invalid authority, and request ids that carry values.
  for (const path of paths) await authz.check({ method: 'POST', authority: 'api.stripe.com', path, peerPrincipal: principal, headers: { 'x-request-id': SECRETS.email } });
  await authz.check({ method: 'GET', authority: `${SECRETS.github}@@bad host`, path: '/', peerPrincipal: principal, headers: { 'x-request-id': `req-${SECRETS.aws}` } });
  authz.close();

  const proc = new EnvoyExtProcDriver(server.grpcPort);
  const headers = (path: string, contentType: string, length?: number): Array<[string, string]> => [
    [':method', 'POST'],
    [':path', path],
    [':authority', 'api.example.com'],
    ['content-type', contentType],
    ...(length !== undefined ? ([['content-length', String(length)]] as Array<[string, string]>) : []),
    ['authorization', `Bearer ${SECRETS.github}`],
    ['x-request-id', `leak-proc-${SECRETS.email2}`],
    ['x-contact', SECRETS.email],
  ];
  const json = JSON.stringify({ [SECRETS.email]: { card: SECRETS.card, ssn: SECRETS.ssn }, escaped: 'x', token: SECRETS.aws, jwt: SECRETS.jwt }).replace('"x"', `"${SECRETS.email2.replace('@', '\\u0040')}"`);
  const form = `${encodeURIComponent(SECRETS.email)}=1&card=${encodeURIComponent(SECRETS.card)}&key=${SECRETS.stripe}&to=${encodeURIComponent(SECRETS.email2)}`;
  const big = (s: string) => `${s}&pad=${'x'.repeat(1500)}`;
  const cfg = { requestBodyMode: 'NONE' as const, allowModeOverride: true };
  // BUFFERED (content-length within the limit) and STREAMED (no content-length, or over the limit).
  await proc.process({ headers: headers(`/v1/p/${SECRETS.email}?ssn=${SECRETS.ssn}`, 'application/json', Buffer.byteLength(json)), body: [Buffer.from(json)] }, cfg);
  await proc.process({ headers: headers('/v1/p', 'application/x-www-form-urlencoded', Buffer.byteLength(form)), body: [Buffer.from(form)] }, cfg);
  const jsonBig = JSON.stringify({ pad: 'y'.repeat(1500), body: JSON.parse(json) as unknown }).replace('"x"', `"${SECRETS.email2.replace('@', '\\u0040')}"`);
  const chunks = (s: string) => Array.from({ length: Math.ceil(s.length / 97) }, (_, k) => Buffer.from(s.slice(k * 97, (k + 1) * 97)));
  await proc.process({ headers: headers('/v1/stream', 'application/json'), body: chunks(jsonBig) }, cfg);
  await proc.process({ headers: headers('/v1/stream', 'application/x-www-form-urlencoded'), body: chunks(big(form)) }, cfg);
  await proc.process({ headers: headers('/v1/stream', 'text/plain'), body: chunks(`mail ${SECRETS.email} card ${SECRETS.card} key ${SECRETS.aws} ${'z'.repeat(1500)}`) }, cfg);
  proc.close();

  await sendAccessLogs([
    {
      request: {
        request_method: 'GET',
        authority: 'api.example.com',
        path: `/v1/users/${SECRETS.email}/${SECRETS.github}?ssn=${SECRETS.ssn}`,
        request_id: `als-${SECRETS.email}`,
        user_agent: `curl ${SECRETS.email}`,
        referer: `https://x.example/?t=${SECRETS.jwt}`,
        request_headers: { authorization: `Bearer ${SECRETS.github}`, 'x-api-key': SECRETS.stripe, 'x-user': SECRETS.email },
      },
      response: { response_code: { value: 200 }, response_headers: { 'set-cookie': `s=${SECRETS.jwt}` } },
    },
  ]);
  await server.events.flush();

  outputs.set('metrics', await (await admin('/metrics')).text());
  for (const p of ['/v1/inventory/destinations', '/v1/inventory/graph', '/v1/inventory/tokens', '/v1/inventory/pii', '/v1/alerts', '/v1/policy', '/v1/xds/nodes']) {
    outputs.set(`GET ${p}`, await (await admin(p)).text());
  }
  let cursor: string | undefined;
  let page = 0;
  do {
    const res = await admin(`/v1/audit?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    const text = await res.text();
    outputs.set(`GET /v1/audit page ${page++}`, text);
    cursor = (JSON.parse(text) as { next_cursor?: string }).next_cursor ?? undefined;
  } while (cursor !== undefined && page < 100);

  await server.close();
  for (const f of walk(join(dir, 'data'))) outputs.set(f.slice(dir.length), readFileSync(f, 'utf8'));
  outputs.set('log', logLines.join('\n'));
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function walk(d: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

/** Each raw value, and the spellings it could be stored in. */
const spellings = (v: string) => [v, encodeURIComponent(v), encodeURIComponent(v).replace(/%20/g, '+'), JSON.stringify(v).slice(1, -1)];
const SPELLINGS = VALUES.flatMap(spellings);

describe('leak scan: no raw token or PII value is stored or served anywhere', () => {
  it('the run produced logs, audit records, inventory and answers to scan', () => {
    expect(logLines.length).toBeGreaterThan(5);
    expect([...outputs.keys()].some((k) => k.includes('inventory.json'))).toBe(true);
    expect([...outputs.keys()].some((k) => k.includes('/audit/'))).toBe(true);
    expect(outputs.get('GET /v1/audit page 0')).toMatch(/scrub/);
  });

  it('no output contains a raw value, in any spelling', () => {
    const found: string[] = [];
    for (const [where, text] of outputs) {
      for (const v of SPELLINGS) if (text.includes(v)) found.push(`${where}: ${v}`);
      // The stored policy is the operator's own configuration (like policy.yaml), secrets included, and so is its validated
      // form next to it (policy.validated: the same document, parsed); every answer and log must still omit them.
      if (where !== '/data/policy.json' && where !== '/data/policy.validated') for (const v of POLICY_SECRETS.flatMap(spellings)) if (text.includes(v)) found.push(`${where}: policy secret`);
    }
    expect(found).toEqual([]);
  });

  it("Tollgate's own detectors find nothing in any output, even after decoding escapes", async () => {
    const { compileDetectors } = await import('../../src/scrub/index.js');
    const set = compileDetectors();
    const found: string[] = [];
    for (const [where, text] of outputs) {
      for (const view of [text, decodeJsonEscapes(text).text, decodePercent(decodeJsonEscapes(text).text, 0, undefined, false).text]) {
        for (const m of set.match(view)) {
          if (LEAK_TYPES.has(m.type)) found.push(`${where}: ${m.type} ${view.slice(Math.max(0, m.start - 20), m.end + 5)}`);
        }
      }
    }
    expect([...new Set(found)]).toEqual([]);
  });
});
