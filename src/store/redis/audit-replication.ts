import type { Logger } from 'pino';
import { AuditShipper, auditReplicaId, type AuditShipperOptions, type LocalAuditLog } from '../../audit/shipper.js';
import type { RedisConnection } from '../../redis/connection.js';
import type { AuditStore } from '../audit-store.js';
import { FleetAuditStore } from './audit-fleet.js';

export interface AuditFleet {
  /** What `/v1/audit` reads: every replica's records from Redis. */
  view: AuditStore;
  shipper: AuditShipper;
  /** For `/readyz`: shipping stuck (records wait in the local log), empty otherwise. */
  problems(): Array<{ component: string; reason: string; since: string }>;
  close(): Promise<void>;
}

/** Starts shipping this replica's local audit log to Redis and returns the fleet view over every replica's streams. */
export async function startAuditFleet(o: {
  conn: Pick<RedisConnection, 'client' | 'keys' | 'replicaId'>;
  local: LocalAuditLog & AuditStore;
  log: Pick<Logger, 'warn' | 'error' | 'info'>;
  shipper?: Partial<AuditShipperOptions>;
}): Promise<AuditFleet> {
  const replica = await auditReplicaId(o.local, o.conn.replicaId);
  if (replica !== o.conn.replicaId) o.log.info({ replica, configured: o.conn.replicaId }, 'audit: this data directory ships its chain under the replica id it first shipped with');
  const prefix = o.conn.keys.base;
  const shipper = new AuditShipper({
    redis: o.conn.client,
    prefix,
    replica,
    local: o.local,
    onWarn: (m) => o.log.warn(m),
    onStatus: (s) => (s.state === 'stuck' ? o.log.error(s, 'audit shipping to Redis is stuck; records stay in the local log') : o.log.info(s, 'audit shipping to Redis resumed')),
    ...o.shipper,
  });
  shipper.start();
  const view = new FleetAuditStore({ redis: o.conn.client, prefix, local: o.local, replica });
  return {
    view,
    shipper,
    problems() {
      const s = shipper.status();
      if (s.state !== 'stuck') return [];
      return [
        {
          component: 'audit-shipping',
          reason: `audit records are not reaching Redis (${s.local_seq - s.shipped_seq} waiting, kept in the local log): ${s.last_error ?? 'unknown error'}`,
          since: s.failing_since ?? new Date().toISOString(),
        },
      ];
    },
    async close() {
      await view.close();
      await shipper.close();
    },
  };
}
