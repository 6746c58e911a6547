import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditCommand } from '../../src/audit/cli.js';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { redisAvailable, startRedisCluster, type RedisClusterSetup } from '../support/redis.js';
import { eventually, policyAllowing, startReplica, type Replica } from './replicas.js';

describe.skipIf(!redisAvailable())('the fleet audit log on a Redis Cluster of three masters', () => {
  let cluster: RedisClusterSetup;
  const replicas: Replica[] = [];
  beforeAll(async () => {
    cluster = await startRedisCluster();
    for (const id of ['north', 'south', 'east-2']) replicas.push(await startReplica(id, cluster.url, { policy: policyAllowing(['api.stripe.com']), prefix: 'cl:' }));
  }, 60_000);
  afterAll(async () => {
    for (const r of replicas) await r.stop();
    await cluster?.stop();
  });

  it('ships each replica chain into its own slot and answers /v1/audit for all of them from any replica', async () => {
    const drivers = replicas.map((r) => new EnvoyExtAuthzDriver(r.grpcPort));
    for (let i = 0; i < 40; i++) await Promise.all(drivers.map((d) => d.check({ method: 'GET', authority: 'api.stripe.com', path: `/v1/charges/${i}` })));
    for (const r of replicas) await r.events.flush();
    let records: Array<{ replica: string; decision_id?: string }> = [];
    await eventually(
      async () => {
        const res = await replicas[0]!.admin('/v1/audit?limit=1000');
        const body = (await res.json()) as { records: Array<{ replica: string; decision_id?: string }>; fleet?: boolean };
        records = body.fleet === false ? [] : body.records;
        return records.length >= 120;
      },
      'all 120 records in the fleet view',
      30_000,
    );
    expect(records).toHaveLength(120);
    expect(new Set(records.map((r) => r.decision_id)).size).toBe(120);
    expect(new Set(records.map((r) => r.replica))).toEqual(new Set(['north', 'south', 'east-2']));

    let out = '';
    let err = '';
    const sink = (f: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (f(c.toString()), cb()) });
    const code = await auditCommand(['verify', '--redis', cluster.url, '--redis-prefix', 'cl:'], { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out.match(/: ok, 40 records, seq 1\.\.40/g)).toHaveLength(3);
    for (const d of drivers) d.close();
  });
});
