import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { WebhookReceiver } from '../alerts/support/receiver.js';
import { redisAvailable, startRedis, type RedisProcess } from '../support/redis.js';
import { eventually, startReplica, type Replica } from './replicas.js';

const HOSTS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((h) => `${h}.example.com`);

const policy = (hook: string) => `version: 1
egress:
  - identity: "*"
    allow:
${HOSTS.map((h, i) => `      - { id: r${i}, host: ${h} }`).join('\n')}
alerts:
  sinks:
    - { name: hook, type: webhook, url: "${hook}", maxPerMinute: 2 }
  rules:
    - { name: new-dest, type: new_destination, learningPeriod: 1ms, sinks: [hook] }
`;

describe.skipIf(!redisAvailable())('alert sink rate limits across replicas', () => {
  let redis: RedisProcess;
  let hook: WebhookReceiver;
  let a: Replica;
  let b: Replica;

  beforeAll(async () => {
    redis = await startRedis();
    hook = await new WebhookReceiver().start();
    a = await startReplica('a', redis.url, { policy: policy(hook.url) });
    b = await startReplica('b', redis.url, { policy: policy(hook.url) });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await hook?.stop();
    await redis?.stop();
  });

  it('a sink limited to 2 alerts a minute gets 2 from the whole fleet, and the rest are dead-lettered as rate limited', async () => {
    const envoyA = new EnvoyExtAuthzDriver(a.grpcPort);
    const envoyB = new EnvoyExtAuthzDriver(b.grpcPort);
    // Six new destinations, three seen by each replica: six alerts would fire, each replica alone would send two.
    for (const [i, host] of HOSTS.entries()) await (i < 3 ? envoyA : envoyB).check({ method: 'GET', authority: host, path: '/' });
    envoyA.close();
    envoyB.close();
    const failed = async () => ((await (await a.admin('/v1/alerts?state=failed')).json()) as { alerts: unknown[] }).alerts;
    await eventually(async () => (await failed()).length >= 4, 'four alerts dead-lettered across the fleet');
    expect(hook.deliveries).toHaveLength(2);
    expect(JSON.stringify(await failed())).toContain('rate limited');
  });
});
