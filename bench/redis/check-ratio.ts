// Check throughput of one replica on the Redis stores vs the embedded stores, same policy, same client.
// `npm run bench -- redis-check-ratio [checks]`; writes bench/results/redis-check-ratio.json.
// A gRPC client in this process drives 64 Checks in flight (no h2load needed): a ratio, not a peak figure.
import { spawnSync } from 'node:child_process';
import { EnvoyExtAuthzDriver } from '../../test/drivers/envoy-ext-authz-driver.js';
import { startRedis } from '../../test/support/redis.js';
import { startTestServer } from '../../test/support/server.js';
import { policyAllowing, startReplica } from '../../test/redis/replicas.js';
import { writeResult } from '../lib/results.js';

const total = Number(process.argv[2] ?? 20_000);
const INFLIGHT = 64;
const hosts = Array.from({ length: 50 }, (_, i) => `api.${i}.example`);
const policy = policyAllowing(hosts);
const redisVersion = /v=([\d.]+)/.exec(spawnSync('redis-server', ['--version']).stdout.toString())?.[1] ?? 'unknown';

async function drive(port: number): Promise<number> {
  const envoy = new EnvoyExtAuthzDriver(port);
  let sent = 0;
  const worker = async () => {
    while (sent < total) {
      const i = sent++;
      const r = await envoy.check({ method: 'GET', authority: i % 10 === 0 ? 'evil.example' : hosts[i % hosts.length]!, path: '/v1/x', sourceAddress: `10.0.${i % 4}.7` });
      if (r.allowed === (i % 10 === 0)) throw new Error(`check ${i}: unexpected decision`);
    }
  };
  await Promise.all(Array.from({ length: INFLIGHT }, worker)); // warm-up
  sent = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  const rate = total / ((performance.now() - start) / 1000);
  envoy.close();
  return rate;
}

const embedded = await startTestServer(policy);
const embeddedRate = await drive(embedded.grpcPort);
await embedded.stop();

const redis = await startRedis();
const replica = await startReplica('bench', redis.url, { policy });
const redisRate = await drive(replica.grpcPort);
await replica.stop();
await redis.stop();

const result = { redisVersion, checks: total, inflight: INFLIGHT, embeddedChecksPerS: Math.round(embeddedRate), redisChecksPerS: Math.round(redisRate), ratio: Math.round((redisRate / embeddedRate) * 1000) / 1000 };
const path = writeResult('redis-check-ratio', result);
console.log(`embedded ${result.embeddedChecksPerS}/s, Redis stores ${result.redisChecksPerS}/s: ratio ${result.ratio} (Redis ${redisVersion})`);
console.log(path);
