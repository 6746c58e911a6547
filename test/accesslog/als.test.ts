import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EgressEvent } from '../../src/events/types.js';
import { authzMetadata, decisionOf } from '../support/authz-metadata.js';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { sendAccessLogs as sendAls } from '../support/als-client.js';

const POLICY = 'version: 1\nidentities:\n  - { name: billing, match: { spiffe: "spiffe://prod.example/ns/billing/sa/*" } }\negress:\n  - identity: billing\n    allow: [{ id: stripe, host: api.stripe.com }]\n';

let server: TestServer;
const events: EgressEvent[] = [];
beforeAll(async () => {
  server = await startTestServer(POLICY);
  server.events.subscribe((batch) => void events.push(...batch));
});
afterAll(() => server.stop());

const sendAccessLogs = (entries: unknown[]) => sendAls(server.grpcPort, entries);

describe('Envoy access logs (ALS)', () => {
  it('an access log entry joins its decision by x-request-id: identity, status, bytes and upstream latency', async () => {
    const envoy = new EnvoyExtAuthzDriver(server.grpcPort);
    const out = await envoy.check({ method: 'POST', authority: 'api.stripe.com', path: '/v1/charges/ch_3MmlLrLkdIwHu7ix', peerPrincipal: 'spiffe://prod.example/ns/billing/sa/web', headers: { 'x-request-id': 'req-42' } });
    envoy.close();
    expect(out.allowed).toBe(true);
    await sendAccessLogs([
      {
        common_properties: { start_time: { seconds: '1790000000', nanos: 0 }, time_to_last_upstream_tx_byte: { nanos: 2_000_000 }, time_to_first_upstream_rx_byte: { nanos: 47_000_000 } },
        request: { request_method: 'POST', authority: 'api.stripe.com', path: '/v1/charges/ch_3MmlLrLkdIwHu7ix?x=1', request_id: 'req-42', request_headers_bytes: '300', request_body_bytes: '1200' },
        response: { response_code: { value: 201 }, response_headers_bytes: '200', response_body_bytes: '800' },
      },
    ]);
    await server.events.flush();
    const access = events.find((e) => e.kind === 'access' && e.request_id === 'req-42');
    expect(access).toMatchObject({ identity: 'billing', destination: 'api.stripe.com:443', status: 201, bytes_sent: 1500, bytes_received: 1000, path_template: '/v1/charges/{id}', decision_id: decisionOf(out.raw).decisionId });
    expect((access as { upstream_latency_ms: number }).upstream_latency_ms).toBeCloseTo(45, 5);
  });

  it('an entry without a known request still becomes an event, with the identity from ext_authz dynamic metadata', async () => {
    await sendAccessLogs([{ common_properties: { metadata: authzMetadata({ identity: 'ci', decisionId: 'dec-7' }) }, request: { request_method: 'GET', authority: 'example.org:8443', path: '/a/123', request_id: 'nobody' }, response: { response_code: { value: 403 } } }]);
    await server.events.flush();
    expect(events.find((e) => e.request_id === 'nobody')).toMatchObject({ kind: 'access', identity: 'ci', decision_id: 'dec-7', destination: 'example.org:8443', status: 403, path_template: '/a/{id}' });
  });

  it('an identity header in the logged request is not believed: the workload could have sent it', async () => {
    await sendAccessLogs([{ request: { request_method: 'GET', authority: 'example.org', path: '/', request_id: 'spoof', request_headers: { 'x-tollgate-identity': 'billing' } }, response: { response_code: { value: 200 } } }]);
    await server.events.flush();
    expect(events.find((e) => e.request_id === 'spoof')).toMatchObject({ kind: 'access', identity: 'unknown' });
  });
});
