import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditStatus } from '../../src/audit/health.js';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { decisionOf } from '../support/authz-metadata.js';
import { TEST_POLICY } from '../support/policies.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { mountSmallDisk, type SmallDisk } from '../support/tmpfs.js';

const disk = mountSmallDisk(1024);
if (typeof disk === 'string') console.warn(`skipping the audit disk-full test: ${disk}`);

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 40_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(typeof disk === 'string')('audit log on a full disk', () => {
  const small = disk as SmallDisk;
  let server: TestServer;
  let envoy: EnvoyExtAuthzDriver;
  beforeAll(async () => {
    writeFileSync(join(small.dir, 'policy.yaml'), TEST_POLICY);
    server = await startTestServer(TEST_POLICY, { dir: small.dir });
    envoy = new EnvoyExtAuthzDriver(server.grpcPort);
  });
  afterAll(async () => {
    envoy?.close();
    small.free();
    await server?.stop();
    small.unmount();
  });

  const status = async () => (await (await server.admin('/v1/audit/status')).json()) as AuditStatus;
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await server.admin('/metrics')).text())?.[1]);
  const check = async (i: number) => {
    const out = await envoy.check({ method: 'POST', authority: 'api.stripe.com', path: `/v1/charges/ch_${i}`, peerPrincipal: 'spiffe://prod.example/ns/billing/sa/web' });
    expect(out.allowed).toBe(true);
    return decisionOf(out.raw).decisionId!;
  };

  it('keeps answering Checks, shows the failing log in /readyz, status and metrics, and writes every queued record once space returns', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await check(i));
    await until('the first records', async () => ((await status()).last_seq >= 5 ? true : undefined));
    expect((await server.admin('/readyz')).status).toBe(200);

    small.fill();
    // Enough records to need more than the bytes left in the last page of the file.
    for (let i = 5; i < 400; i++) ids.push(await check(i));
    const failing = await until('appends to fail', async () => {
      const s = await status();
      return s.writing ? undefined : s;
    });
    expect(failing.problems[0]).toMatch(/audit appends failing since .*ENOSPC/);
    expect(failing.recorder.queued).toBeGreaterThan(0);
    const ready = await server.admin('/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toMatch(/ENOSPC/);
    expect(await metric('tollgate_audit_writing')).toBe(0);
    expect(await metric('tollgate_audit_append_failures_total')).toBeGreaterThan(0);
    expect(await metric('tollgate_audit_queued_records')).toBeGreaterThan(0);

    small.free();
    await until('the queue to drain', async () => {
      const s = await status();
      return s.writing && s.recorder.queued === 0 ? s : undefined;
    });
    expect((await server.admin('/readyz')).status).toBe(200);
    expect(await metric('tollgate_audit_writing')).toBe(1);
    const stored = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = (await (await server.admin(`/v1/audit?kind=decision&limit=1000${cursor ? `&cursor=${cursor}` : ''}`)).json()) as { records: Array<{ decision_id: string }>; next_cursor: string | null };
      for (const r of page.records) stored.add(r.decision_id);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(ids.filter((id) => !stored.has(id))).toEqual([]);
    expect((await status()).recorder.dropped).toBe(0);
  });
});
