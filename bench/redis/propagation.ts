// Policy propagation between two replicas sharing one Redis: PUT on A → B decides with the new policy.
// `npm run bench -- redis-propagation [updates]`; writes bench/results/redis-propagation.json.
import { spawnSync } from 'node:child_process';
import { EnvoyExtAuthzDriver } from '../../test/drivers/envoy-ext-authz-driver.js';
import { startRedis } from '../../test/support/redis.js';
import { policyAllowing, putPolicy, startReplica } from '../../test/redis/replicas.js';
import { writeResult } from '../lib/results.js';
import { summarize } from '../lib/stats.js';

const updates = Number(process.argv[2] ?? 100);
const redisVersion = /v=([\d.]+)/.exec(spawnSync('redis-server', ['--version']).stdout.toString())?.[1] ?? 'unknown';
const redis = await startRedis();
const a = await startReplica('a', redis.url, { policy: policyAllowing(['api.0.example']), visibility: false });
const b = await startReplica('b', redis.url, { policy: policyAllowing(['api.0.example']), visibility: false });
const envoyB = new EnvoyExtAuthzDriver(b.grpcPort);

const toInstalled: number[] = [];
const toDecision: number[] = [];
const afterAnswer: number[] = [];
try {
  for (let i = 1; i <= updates + 5; i++) {
    const host = `api.${i}.example`;
    let installedAt = 0;
    const off = b.policies.subscribe(() => (installedAt ||= performance.now()));
    const sent = performance.now();
    const res = await putPolicy(a, policyAllowing([host]));
    const answered = performance.now();
    if (res.status !== 200) throw new Error(`PUT ${i}: ${res.status} ${await res.text()}`);
    // Envoy's view: B's Check, polled back to back until it allows the new host.
    while (!(await envoyB.check({ method: 'GET', authority: host, path: '/' })).allowed) {
      if (performance.now() - sent > 10_000) throw new Error(`update ${i} did not reach B within 10 s`);
    }
    const decided = performance.now();
    off();
    if (i <= 5) continue; // warm-up
    toInstalled.push(installedAt - sent);
    toDecision.push(decided - sent);
    afterAnswer.push(Math.max(0, installedAt - answered));
  }
} finally {
  envoyB.close();
  await b.stop();
  await a.stop();
  await redis.stop();
}

const result = {
  redisVersion,
  updates,
  note: 'both replicas and the driver share one Node process and event loop; Redis on loopback without persistence',
  putSentToBInstalledMs: summarize(toInstalled),
  putSentToBDecidesMs: summarize(toDecision),
  putAnsweredToBInstalledMs: summarize(afterAnswer),
};
const path = writeResult('redis-propagation', result);
const f = (s: { p50: number; p99: number }) => `p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms`;
console.log(`Redis ${redisVersion}, ${updates} updates`);
console.log(`PUT sent on A → B installed:      ${f(result.putSentToBInstalledMs)}`);
console.log(`PUT sent on A → B's Check allows: ${f(result.putSentToBDecidesMs)}`);
console.log(`PUT answered → B installed:       ${f(result.putAnsweredToBInstalledMs)}`);
console.log(path);
