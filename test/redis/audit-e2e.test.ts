import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditCommand } from '../../src/audit/cli.js';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { redisAvailable, startRedis, type RedisProcess } from '../support/redis.js';
import { eventually, policyAllowing, startReplica, type Replica } from './replicas.js';

/** Every record `/v1/audit` on `r` returns, paging with the cursor. */
async function fleetRecords(r: Replica): Promise<Array<{ decision_id?: string; replica: string; seq: number }>> {
  const out: Array<{ decision_id?: string; replica: string; seq: number }> = [];
  let cursor = '';
  for (let pages = 0; pages < 200; pages++) {
    const res = await r.admin(`/v1/audit?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    const body = (await res.json()) as { records: Array<{ decision_id?: string; replica: string; seq: number }>; next_cursor: string | null; fleet?: boolean };
    if (res.status !== 200 || body.fleet === false) return [];
    out.push(...body.records);
    if (!body.next_cursor) return out;
    cursor = body.next_cursor;
  }
  throw new Error('too many pages');
}

describe.skipIf(!redisAvailable())('the fleet audit log survives Redis dying mid-traffic', () => {
  let redis: RedisProcess;
  const replicas: Replica[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    for (const id of ['east', 'west']) replicas.push(await startReplica(id, redis.url, { policy: policyAllowing(['api.stripe.com']), prefix: 'e2e:' }));
  });
  afterAll(async () => {
    for (const r of replicas) await r.stop();
    await redis.stop();
  });

  it('Checks keep being answered while Redis is down, /readyz says shipping is stuck, and afterwards every record is in the fleet view, /readyz is ready and every chain verifies', async () => {
    const drivers = replicas.map((r) => new EnvoyExtAuthzDriver(r.grpcPort));
    const decided = new Set<string>();
    let answered = 0;
    const traffic = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const results = await Promise.all(
          drivers.map((d, k) => d.check({ method: 'POST', authority: i % 4 === 0 ? 'evil.example.com' : 'api.stripe.com', path: `/v1/charges/${k}-${i}` })),
        );
        for (const [k, res] of results.entries()) {
          expect(res.allowed).toBe(i % 4 !== 0);
          const id = res.dynamicMetadata.decision_id;
          expect(typeof id).toBe('string');
          decided.add(`${replicas[k]!.id}:${String(id)}`);
          answered++;
        }
      }
    };
    await traffic(100);
    await redis.kill();
    await traffic(150);
    // Shipping counts as stuck after 5 s of failures; Checks were answered all along.
    await eventually(
      async () => {
        const body = (await (await replicas[0]!.admin('/readyz')).json()) as { status: string; reasons?: Array<{ component: string }> };
        return body.status === 'degraded' && (body.reasons ?? []).some((r) => r.component === 'audit-shipping');
      },
      '/readyz to report audit shipping stuck',
      20_000,
    );
    await traffic(50);
    await redis.restart();
    await traffic(50);
    expect(answered).toBe(2 * 350);

    for (const r of replicas) await r.events.flush();
    let records: Awaited<ReturnType<typeof fleetRecords>> = [];
    await eventually(async () => (records = await fleetRecords(replicas[1]!)).length >= answered, 'every record shipped to the fleet view', 30_000);
    const seen = new Set(records.map((r) => `${r.replica}:${r.decision_id}`));
    expect(records).toHaveLength(answered);
    expect(seen).toEqual(decided);
    await eventually(async () => ((await (await replicas[0]!.admin('/readyz')).json()) as { status: string }).status === 'ready', '/readyz ready again', 20_000);

    let out = '';
    let err = '';
    const sink = (f: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (f(c.toString()), cb()) });
    const code = await auditCommand(['verify', '--redis', redis.url, '--redis-prefix', 'e2e:'], { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/replica east: ok, 350 records, seq 1\.\.350/);
    expect(out).toMatch(/replica west: ok, 350 records, seq 1\.\.350/);
    for (const d of drivers) d.close();
  });
});
