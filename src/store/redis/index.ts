import type { Logger } from 'pino';
import type { BackgroundErrorReporter } from '../../engine/background.js';
import type { PolicyManager } from '../../engine/policy-manager.js';
import { RedisConnection, type RedisProblem } from '../../redis/connection.js';
import type { XdsStatus } from '../../xds/status.js';
import { RedisAlertState } from './alert-state.js';
import { RedisInventoryStore } from './inventory-store.js';
import { RedisPolicyStore } from './policy-store.js';
import { XdsFleet } from './xds-fleet.js';

export interface RedisStateConfig {
  redisUrl: string;
  redisPrefix: string;
  replicaId: string;
}

/** Policy, inventory, alert state and the xDS fleet view of one replica, shared through one Redis. */
export interface RedisState {
  conn: RedisConnection;
  policyStore: RedisPolicyStore;
  inventoryStore: RedisInventoryStore;
  alertState: RedisAlertState;
  /** Adopts versions other replicas store; publishes this replica's Envoys. */
  attach(policies: PolicyManager, xdsStatus: XdsStatus): XdsFleet;
  /** Why shared state is degraded (for /readyz), empty while Redis answers. */
  problems(): RedisProblem[];
  close(): Promise<void>;
}

export async function openRedisState(config: RedisStateConfig, log: Logger, reportError: BackgroundErrorReporter): Promise<RedisState> {
  const conn = await RedisConnection.open({ url: config.redisUrl, prefix: config.redisPrefix, replicaId: config.replicaId, log });
  const policyStore = await RedisPolicyStore.open(conn, {
    onError: reportError,
    onReseed: (version, won) => log.warn({ version, won }, won ? 'Redis came back empty: re-seeded it with this replica\'s policy version' : 'Redis came back empty: another replica re-seeded a version at least as new'),
  });
  // A long outage drops on every event batch: say so every 10 s with the count, not 50 times a second.
  let dropped = 0;
  let lastDropLog = 0;
  const inventoryStore = new RedisInventoryStore(conn, {
    onError: (err) => reportError('redis-inventory-flush', err),
    onDrop: (table, keys) => {
      dropped += keys;
      if (Date.now() - lastDropLog < 10_000) return;
      lastDropLog = Date.now();
      log.error({ table, keys: dropped }, 'inventory deltas dropped: Redis unreachable and the in-memory buffer is full');
      dropped = 0;
    },
  });
  const alertState = new RedisAlertState(conn, { onError: (err) => reportError('redis-alert-state', err) });
  let fleet: XdsFleet | undefined;
  let unwatch = () => {};
  return {
    conn,
    policyStore,
    inventoryStore,
    alertState,
    attach(policies, xdsStatus) {
      unwatch = policyStore.watch(() => void policies.adoptStored().catch((err: unknown) => reportError('redis-policy-adopt', err)));
      fleet = new XdsFleet(conn, xdsStatus, { onError: (err) => reportError('redis-xds-fleet', err) });
      return fleet;
    },
    problems() {
      const p = conn.problem();
      return p ? [p] : [];
    },
    async close() {
      unwatch();
      await fleet?.close();
      await alertState.close();
      await inventoryStore.close();
      await policyStore.close();
      await conn.close();
    },
  };
}
