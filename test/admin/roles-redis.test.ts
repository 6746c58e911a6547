import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditCommand } from '../../src/audit/cli.js';
import { redisAvailable, startRedis, type RedisProcess } from '../support/redis.js';
import { eventually, policyAllowing, putPolicy, startReplica, type Replica } from '../redis/replicas.js';

describe.skipIf(!redisAvailable())('admin records with Redis', () => {
  let redis: RedisProcess;
  const replicas: Replica[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    for (const id of ['east', 'west']) replicas.push(await startReplica(id, redis.url, { policy: policyAllowing(['a.example.com']), prefix: 'adm:' }));
  });
  afterAll(async () => {
    for (const r of replicas) await r.stop();
    await redis.stop();
  });

  it("a policy change on one replica is in the fleet's audit view on the other, once, and every chain verifies", async () => {
    const [east, west] = replicas as [Replica, Replica];
    const etag = (await east.admin('/v1/policy')).headers.get('etag')!;
    expect((await putPolicy(east, policyAllowing(['b.example.com']), etag)).status).toBe(200);
    let records: Array<Record<string, unknown>> = [];
    await eventually(async () => {
      records = ((await (await west.admin('/v1/audit?kind=admin')).json()) as { records: Array<Record<string, unknown>> }).records;
      return records.length > 0;
    }, 'the admin record in the fleet view');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ kind: 'admin', who: 'loopback', action: 'policy.update', replica: 'east' });
    expect(records[0]!.diff).toContain('+      - { id: r0, host: b.example.com }');
    let out = '';
    const sink = new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) });
    expect(await auditCommand(['verify', '--redis', redis.url, '--redis-prefix', 'adm:'], { stdout: sink, stderr: sink })).toBe(0);
    expect(out).toMatch(/replica east: ok/);
  });
});
