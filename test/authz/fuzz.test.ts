import { rng } from '../support/rng.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPolicy } from '../../src/engine/policy-version.js';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { TEST_POLICY } from '../support/policies.js';
import { startTestServer, type TestServer } from '../support/server.js';

const ALPHABET = ['a', '.', ':', '[', ']', '*', '%', '/', '0', 'x', 'f', '-', '\u0000', 'é', ' ', '@', '?', '#'];

function junkString(r: () => number, max = 40): string {
  let s = '';
  const n = Math.floor(r() * max);
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)];
  return s;
}

function junkValue(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * 7);
  if (depth > 3 || k === 0) return junkString(r);
  if (k === 1) return Math.floor(r() * 1e6) - 5e5;
  if (k === 2) return r() > 0.5;
  if (k === 3) return null;
  if (k === 4) return [junkValue(r, depth + 1), junkValue(r, depth + 1)];
  return Object.fromEntries(Array.from({ length: 3 }, () => [junkString(r, 8), junkValue(r, depth + 1)]));
}

let server: TestServer;
let envoy: EnvoyExtAuthzDriver;
beforeAll(async () => {
  server = await startTestServer(TEST_POLICY);
  envoy = new EnvoyExtAuthzDriver(server.grpcPort);
});
afterAll(async () => {
  envoy.close();
  await server.stop();
});

describe('fuzzing', () => {
  it('answers 3,000 random and malformed CheckRequests, each with a decision, and stays up', async () => {
    const r = rng(42);
    const requests: unknown[] = [];
    for (let i = 0; i < 3000; i++) {
      const kind = i % 3;
      if (kind === 0) {
        requests.push(envoy.buildCheckRequest({ method: junkString(r, 8) || 'GET', authority: junkString(r), path: junkString(r), sourceAddress: junkString(r, 20), peerPrincipal: junkString(r), headers: { 'x-forwarded-client-cert': junkString(r), 'x-tollgate-identity': junkString(r) } }));
      } else if (kind === 1) {
        requests.push({ attributes: { request: { http: { host: junkString(r), method: junkString(r, 6), path: junkString(r), headers: { [junkString(r, 6)]: junkString(r) } } }, source: { principal: junkString(r) } } });
      } else {
        requests.push({ attributes: junkValue(r) });
      }
    }
    let answered = 0;
    for (let i = 0; i < requests.length; i += 100) {
      const batch = requests.slice(i, i + 100);
      const results = await Promise.allSettled(batch.map((req) => envoy.checkRaw(req)));
      for (const res of results) {
        // Garbage that protobuf cannot serialize is refused client-side; everything that reaches the server is answered.
        if (res.status === 'fulfilled') {
          answered++;
          expect([0, 7]).toContain(res.value.status?.code ?? 0);
        }
      }
    }
    expect(answered).toBeGreaterThan(2000);
    const healthy = await envoy.check({ method: 'POST', authority: 'sts.amazonaws.com', path: '/' });
    expect(healthy.allowed).toBe(true);
  });

  it('validates 2,000 random policy documents without throwing, each valid or with located problems', () => {
    const r = rng(7);
    for (let i = 0; i < 2000; i++) {
      const doc = i % 2 ? { version: 1, identities: [junkValue(r)], egress: [{ identity: junkString(r, 6), allow: [junkValue(r)] }] } : junkValue(r);
      const built = buildPolicy(JSON.stringify(doc));
      if (!built.ok) {
        expect(built.problems.length).toBeGreaterThan(0);
        for (const p of built.problems) expect(typeof p.path).toBe('string');
      }
    }
  });
});
