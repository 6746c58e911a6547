import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResponse } from '../../src/proto/gen/envoy/service/auth/v3/external_auth.js';
import { serviceDefinition } from '../../src/proto/load.js';
import { signHmacToken } from '../../src/identity/signed-header.js';
import { EnvoyExtAuthzDriver, type GatewayRequest } from '../drivers/envoy-ext-authz-driver.js';
import { HMAC_SECRET, TEST_POLICY } from '../support/policies.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { decisionOf } from '../support/authz-metadata.js';

let server: TestServer;
let envoy: EnvoyExtAuthzDriver;
const BILLING = 'spiffe://prod.example/ns/billing/sa/web';
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

beforeAll(async () => {
  server = await startTestServer(TEST_POLICY);
  envoy = new EnvoyExtAuthzDriver(server.grpcPort);
});
afterAll(async () => {
  envoy.close();
  await server.stop();
});

type Case = [name: string, req: GatewayRequest, allowed: boolean, rule: string];

const billing = (r: Omit<GatewayRequest, 'peerPrincipal'>): GatewayRequest => ({ peerPrincipal: BILLING, ...r });

const cases: Case[] = [
  ['exact host, method and path glob allow', billing({ method: 'POST', authority: 'api.stripe.com', path: '/v1/charges/ch_1?expand=x' }), true, 'stripe-api'],
  ['host match is case-insensitive and ignores a trailing dot', billing({ method: 'GET', authority: 'API.Stripe.COM.', path: '/v1/customers/cus_1' }), true, 'stripe-api'],
  ['the default port is stripped from :authority', billing({ method: 'GET', authority: 'api.stripe.com:443', path: '/v1/customers/cus_1' }), true, 'stripe-api'],
  ['a method outside the rule falls to the next rule', billing({ method: 'DELETE', authority: 'api.stripe.com', path: '/v1/charges/ch_1' }), false, 'default-deny'],
  ['"*" in a path glob does not cross a "/"', billing({ method: 'POST', authority: 'api.stripe.com', path: '/v1/customers/cus_1/sources' }), false, 'default-deny'],
  ['dot segments cannot escape a path glob', billing({ method: 'POST', authority: 'api.stripe.com', path: '/v1/charges/../../admin' }), false, 'default-deny'],
  ['a wildcard host matches a subdomain', billing({ method: 'GET', authority: 'dashboard.stripe.com', path: '/' }), true, 'stripe-wild'],
  ['a wildcard host does not match the bare domain', billing({ method: 'GET', authority: 'stripe.com', path: '/' }), false, 'default-deny'],
  ['a wildcard host does not match a look-alike domain', billing({ method: 'GET', authority: 'evilstripe.com', path: '/' }), false, 'default-deny'],
  ['a wildcard host does not match a suffix attack', billing({ method: 'GET', authority: 'api.stripe.com.evil.io', path: '/' }), false, 'default-deny'],
  ['a wrong port is denied', billing({ method: 'GET', authority: 'dashboard.stripe.com:8443', path: '/' }), false, 'default-deny'],
  ['a non-default port must be named by the rule', billing({ method: 'GET', authority: 'partner.example.com:8443', path: '/' }), true, 'partner-8443'],
  ['a bare IPv6 literal rule matches its bracketed authority', billing({ method: 'GET', authority: '[2001:db8::10]:443', path: '/' }), true, 'v6-literal'],
  ['CONNECT to an allowed host:port is allowed when the rule restricts no method or path', { method: 'CONNECT', authority: 'api.github.com:443', headers: { 'x-tollgate-identity': signHmacToken(HMAC_SECRET, 'ci-runner', inAnHour()) } }, true, 'github'],
  ['CONNECT cannot bypass a rule that restricts methods', billing({ method: 'CONNECT', authority: 'api.stripe.com:443' }), false, 'default-deny'],
  ['the metadata address is denied by the SSRF guard', billing({ method: 'GET', authority: '169.254.170.2', path: '/' }), false, 'ssrf-guard'],
  ['a decimal spelling of a private address is denied', { method: 'GET', authority: '167772161', path: '/' }, false, 'ssrf-guard'],
  ['a hex spelling of the metadata address is denied', { method: 'GET', authority: '0xa9fea9fe', path: '/' }, false, 'ssrf-guard'],
  ['an IPv4-mapped IPv6 metadata address is denied', { method: 'GET', authority: '[::ffff:169.254.169.254]', path: '/' }, false, 'ssrf-guard'],
  ['the AWS IPv6 metadata address is denied', { method: 'GET', authority: '[fd00:ec2::254]:80', path: '/' }, false, 'ssrf-guard'],
  ['loopback by name is denied', { method: 'GET', authority: 'localhost:8080', path: '/' }, false, 'ssrf-guard'],
  ['a rule naming the metadata address exactly allows only what it names', billing({ method: 'GET', authority: '169.254.169.254', path: '/latest/meta-data/instance-id' }), true, 'metadata-named'],
  ['the metadata address stays denied outside the named path', billing({ method: 'GET', authority: '169.254.169.254', path: '/latest/meta-data/iam/security-credentials/' }), false, 'ssrf-guard'],
  ['a wildcard destination that resolves to a private address is denied', billing({ method: 'GET', authority: 'db.internal.test', path: '/' }), false, 'ssrf-guard'],
  ['an exact SPIFFE ID matches only itself', { method: 'GET', authority: 'api.stripe.com', path: '/', peerPrincipal: 'spiffe://prod.example/ns/payments/sa/api' }, true, 'payments-stripe'],
  ['an exact SPIFFE ID does not match a longer one', { method: 'GET', authority: 'api.stripe.com', path: '/', peerPrincipal: 'spiffe://prod.example/ns/payments/sa/api2' }, false, 'default-deny'],
  ['a SPIFFE wildcard does not match a sibling namespace', { method: 'GET', authority: 'api.stripe.com', path: '/v1/customers/x', peerPrincipal: 'spiffe://prod.example/ns/billing-evil/sa/x' }, false, 'default-deny'],
  ['an identity from x-forwarded-client-cert is honoured', { method: 'GET', authority: 'api.github.com', path: '/', headers: { 'x-forwarded-client-cert': 'By=spiffe://gw;Hash=abc;URI=spiffe://mesh.example/ns/web/sa/frontend' } }, true, 'mesh-github'],
  ['a valid HMAC signed header grants its identity', { method: 'GET', authority: 'registry.npmjs.org', path: '/left-pad', headers: { 'x-tollgate-identity': signHmacToken(HMAC_SECRET, 'ci-runner', inAnHour()) } }, true, 'npm-get'],
  ['a forged HMAC signed header grants nothing', { method: 'GET', authority: 'registry.npmjs.org', path: '/', headers: { 'x-tollgate-identity': signHmacToken('attacker-secret-0123456789', 'ci-runner', inAnHour()) } }, false, 'default-deny'],
  ['an expired signed header grants nothing', { method: 'GET', authority: 'registry.npmjs.org', path: '/', headers: { 'x-tollgate-identity': signHmacToken(HMAC_SECRET, 'ci-runner', 1000) } }, false, 'default-deny'],
  ['an unsigned identity header grants nothing', { method: 'GET', authority: 'registry.npmjs.org', path: '/', headers: { 'x-tollgate-identity': 'ci-runner' } }, false, 'default-deny'],
  ['a source CIDR identity in report mode lets a would-be denial through', { method: 'GET', authority: 'example.org', path: '/', sourceAddress: '10.1.2.33' }, true, 'default-deny'],
  ['an IPv6 source CIDR identity is matched', { method: 'GET', authority: 's3.amazonaws.com', path: '/', sourceAddress: 'fd00:1:2::7' }, true, 'legacy-s3'],
  ['a rule for every identity applies to unknown callers', { method: 'POST', authority: 'sts.amazonaws.com', path: '/' }, true, 'sts'],
  ['an unknown caller is denied by default', { method: 'GET', authority: 'api.stripe.com', path: '/' }, false, 'default-deny'],
  ['headers in header_map raw_value form are read too', { method: 'GET', authority: 'registry.npmjs.org', path: '/', encodeRawHeaders: true, headers: { 'x-tollgate-identity': signHmacToken(HMAC_SECRET, 'ci-runner', inAnHour()) } }, true, 'npm-get'],
];

describe('ext_authz Check over real gRPC, driven as Envoy sends it', () => {
  it.each(cases)('%s', async (_name, req, allowed, rule) => {
    const before = server.decisions.length;
    const out = await envoy.check(req);
    expect(out.allowed).toBe(allowed);
    const record = server.decisions.slice(before).find((d) => d.decision_id === (decisionOf(out.raw).decisionId ?? ''));
    expect(record?.rule).toBe(rule);
  });

  it('an allowed request hands its identity and decision id on in dynamic metadata, and loses the signed identity header', async () => {
    const out = await envoy.check({ method: 'GET', authority: 'registry.npmjs.org', path: '/', headers: { 'x-tollgate-identity': signHmacToken(HMAC_SECRET, 'ci-runner', inAnHour()), 'x-tollgate-decision-id': 'forged' } });
    expect(out.allowed).toBe(true);
    expect(decisionOf(out.raw)).toMatchObject({ identity: 'ci', identitySource: 'signed_header', verdict: 'allow' });
    expect(decisionOf(out.raw).decisionId).toMatch(/^[0-9a-f-]{36}$/);
    // Nothing is set that is also removed: Envoy removes last (ext_authz.cc Filter::onComplete).
    expect(out.raw.ok_response?.headers ?? []).toEqual([]);
    expect(out.headersToRemove).toEqual(expect.arrayContaining(['x-tollgate-identity', 'x-tollgate-decision-id']));
  });

  it('a denied request gets a 403 with a JSON body naming the decision id, identity, destination and reason', async () => {
    const out = await envoy.check(billing({ method: 'DELETE', authority: 'api.stripe.com', path: '/v1/charges/ch_1' }));
    expect(out.allowed).toBe(false);
    expect(out.grpcStatus).toBe(7);
    expect(out.httpStatus).toBe(403);
    expect(out.headers['content-type']).toBe('application/json');
    const body = JSON.parse(out.body ?? '{}');
    expect(body).toMatchObject({ error: 'egress_denied', identity: 'billing', destination: 'api.stripe.com:default' });
    expect(body.decision_id).toBe(out.headers['x-tollgate-decision-id']);
    expect(decisionOf(out.raw)).toMatchObject({ decisionId: body.decision_id, identity: 'billing', verdict: 'deny' });
    expect(body.reason).toContain('not DELETE');
  });

  it('report mode on one destination reports a would-be denial while its neighbour enforces', async () => {
    const before = server.decisions.length;
    const reported = await envoy.check(billing({ method: 'POST', authority: 'files.stripe.com', path: '/v2/other' }));
    const enforced = await envoy.check(billing({ method: 'GET', authority: 'partner.example.com:9999', path: '/' }));
    expect(reported.allowed).toBe(true);
    expect(enforced.allowed).toBe(false);
    const verdicts = server.decisions.slice(before).map((d) => d.verdict);
    expect(verdicts).toEqual(['report_deny', 'deny']);
  });

  it('every decision writes one audit record without the query string or any header value', async () => {
    const token = signHmacToken(HMAC_SECRET, 'ci-runner', inAnHour());
    const before = server.decisions.length;
    await envoy.check({ method: 'GET', authority: 'registry.npmjs.org', path: '/pkg?token=supersecret', headers: { 'x-tollgate-identity': token, authorization: 'Bearer abc' } });
    const records = server.decisions.slice(before);
    expect(records).toHaveLength(1);
    const line = JSON.stringify(records[0]);
    expect(records[0]).toMatchObject({ identity: 'ci', identity_source: 'signed_header', destination: 'registry.npmjs.org:443', method: 'GET', path: '/pkg', verdict: 'allow', rule: 'npm-get' });
    expect(records[0]!.latency_us).toBeGreaterThanOrEqual(0);
    expect(line).not.toContain('supersecret');
    expect(line).not.toContain(token.slice(-20));
  });

  it('bytes that are not a CheckRequest are denied with a reason, not answered with a gRPC INTERNAL error', async () => {
    const client = new grpc.Client(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
    const def = serviceDefinition('envoy.service.auth.v3.Authorization').Check!;
    const res = await new Promise<CheckResponse>((resolve, reject) =>
      client.makeUnaryRequest(def.path, (b: Buffer) => b, def.responseDeserialize as (b: Buffer) => CheckResponse, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]), (err, value) => (err ? reject(err) : resolve(value!))),
    );
    client.close();
    expect(res.status?.code).toBe(7);
    expect(JSON.parse(res.denied_response?.body ?? '{}').reason).toContain('could not be decoded');
  });

  it('a method that is not a method word is recorded as OTHER, so a token sent as :method is never stored', async () => {
    const before = server.decisions.length;
    await envoy.check({ method: 'AKIAIOSFODNN7QWERTYU', authority: 'registry.npmjs.org', path: '/' });
    expect(server.decisions.slice(before).map((d) => d.method)).toEqual(['OTHER']);
  });

  it('a CheckRequest with more headers than the limit is denied naming the limit, and counted', async () => {
    const headers = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`x-h${i}`, 'v']));
    const out = await envoy.check({ method: 'GET', authority: 'registry.npmjs.org', path: '/', headers });
    expect(out.allowed).toBe(false);
    expect(JSON.parse(out.body ?? '{}').reason).toMatch(/carries 30\d headers; the limit is 256/);
    expect(await (await server.admin('/metrics')).text()).toMatch(/tollgate_limit_rejections_total\{limit="checkHeaders"\} 1/);
  });

  it('a request without attributes is denied with a clear reason, not an error', async () => {
    const res = await envoy.checkRaw({});
    expect(res.status?.code).toBe(7);
    expect(JSON.parse(res.denied_response?.body ?? '{}').reason).toContain('no attributes.request.http');
  });
});
