import { connectRedis, createRedisClient, describeTarget, parseRedisUrl, RedisKeys } from '../redis/connect.js';
import { verifyFleet } from '../store/redis/audit-verify.js';
import { formatBreak } from './verify.js';

/** `tollgate audit verify --redis URL`: every replica's shipped chain, as lines for stdout and stderr. */
export async function verifyRedisFleet(url: string, prefix: string): Promise<{ ok: boolean; out: string[]; err: string[] }> {
  const target = parseRedisUrl(url);
  const where = describeTarget(target);
  const client = createRedisClient(target, { commandTimeout: 30_000 });
  client.on('error', () => undefined);
  await connectRedis(client, where);
  try {
    const report = await verifyFleet(client, new RedisKeys(prefix).base);
    const out: string[] = [];
    const err: string[] = [];
    if (report.replicas.length === 0) return { ok: false, out, err: [`${where}: no shipped audit records under prefix "${prefix}"`] };
    for (const r of report.replicas) {
      for (const n of r.notes) out.push(`note: ${n}`);
      if (r.ok) out.push(`${where} replica ${r.replica}: ok, ${r.records} records${r.records ? `, seq ${r.first_seq}..${r.last_seq}` : ''}`);
      else if (r.broken) err.push(`${where} replica ${r.replica}: BROKEN at ${formatBreak(r.broken)} (${r.records} records verified before it)`);
    }
    return { ok: report.ok, out, err };
  } finally {
    client.disconnect();
  }
}
