import type { FastifyInstance } from 'fastify';
import type { SnapshotCache } from '../../xds/cache/cache.js';
import { POLICY_GROUP } from '../../xds/publisher.js';
import type { XdsStatus } from '../../xds/status.js';

/** GET /v1/xds/nodes: connected Envoys, what each was sent and ACKed per type, and the last NACK. */
export function xdsRoutes(app: FastifyInstance, status: XdsStatus, cache: SnapshotCache, serving = true, fleet?: { list(): Promise<unknown[]> }): void {
  app.get('/v1/xds/nodes', async () => {
    if (!serving) return { snapshot_version: null, nodes: [], note: 'provider mode (TOLLGATE_XDS=off): the gateway gets its configuration from its own control plane, so no Envoy connects here over ADS' };
    const refusal = cache.lastRefusal(POLICY_GROUP);
    return {
      snapshot_version: cache.getSnapshot(POLICY_GROUP)?.version ?? null,
      ...(refusal ? { refused_snapshot: { version: refusal.version, reasons: refusal.reasons, at: refusal.at.toISOString() } } : {}),
      // With Redis: every replica's Envoys, each with the replica that serves it.
      nodes: fleet ? await fleet.list() : status.list(),
    };
  });
}
