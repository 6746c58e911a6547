import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { buildAdmin } from './admin/server.js';
import { PolicyAudit } from './admin/policy-audit.js';
import { loadAdminTokens } from './admin/roles.js';
import { dashboardRoutes } from './admin/routes/dashboard.js';
import { LiveActivity } from './dashboard/live.js';
import { pinoDecisionSink, type DecisionSink } from './audit/decision-log.js';
import { registerAuthz } from './authz/check-service.js';
import { pinoScrubSink, type ScrubSink } from './audit/scrub-log.js';
import { registerExtProc } from './extproc/service.js';
import { RequestJoin } from './accesslog/request-join.js';
import { registerAccessLog } from './accesslog/service.js';
import { EventBus } from './events/bus.js';
import { decisionSinks, scrubSinks } from './events/sinks.js';
import { alertRoutes } from './admin/routes/alerts.js';
import { AlertEngine } from './alerts/index.js';
import { auditRoutes } from './admin/routes/audit.js';
import { AuditRecorder } from './audit/recorder.js';
import { auditStatus, registerAuditMetrics } from './audit/health.js';
import { EmbeddedAuditStore } from './store/embedded/audit-segments.js';
import { inventoryRoutes } from './admin/routes/inventory.js';
import { Inventory } from './inventory/index.js';
import { EmbeddedInventoryStore } from './store/embedded/inventory-store.js';
import { DnsGuard, type LookupFn } from './authz/dns-guard.js';
import { isLoopback, splitHostPort, type Config } from './config/config.js';
import { PolicyManager } from './engine/policy-manager.js';
import { exampleSecretsIn } from './policy/example-secrets.js';
import { LIMITS } from './config/limits.js';
import { backgroundReporter, type BackgroundErrorReporter } from './engine/background.js';
import { PolicyParser } from './engine/policy-parser.js';
import { StorageHealth } from './engine/storage-health.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics/registry.js';
import { accessLogCounter, alertDeliveryHooks, countRefusals, instrumentAuditStore, scrubMetricsSink, xdsMetrics } from './metrics/instrument.js';
import { startMetricsServer } from './metrics/server.js';
import { grpcTlsCredentials } from './auth/grpc-tls.js';
import { abortableSleep } from './alerts/delivery.js';
import { loadServiceProtos } from './proto/load.js';
import { EmbeddedPolicyStore } from './store/embedded/policy-store.js';
import { xdsRoutes } from './admin/routes/xds.js';
import { SnapshotCache } from './xds/cache/cache.js';
import { POLICY_GROUP, PolicyPublisher } from './xds/publisher.js';
import { xdsOptionsSchema } from './xds/resources/options.js';
import { registerAds, type AdsHandle } from './xds/server/index.js';
import { loadCaBundle, loadCertPair, loadDownstream, watchDownstream, watchPemFiles } from './xds/downstream-certs.js';
import { envoyTokenCheck } from './auth/envoy-token.js';
import { XdsStatus } from './xds/status.js';
import { openRedisState } from './store/redis/index.js';
import { startAuditFleet } from './store/redis/audit-replication.js';

export interface ServerOptions {
  logger?: Logger;
  /** Replaces system DNS for the wildcard SSRF check (tests run without a resolver). */
  lookup?: LookupFn;
  decisionSink?: DecisionSink;
  scrubSink?: ScrubSink;
}

export interface RunningServer {
  grpcPort: number;
  adminPort: number;
  /** Port of the token-free Prometheus endpoint (TOLLGATE_METRICS_ADDRESS), when configured. */
  metricsPort: number | undefined;
  policies: PolicyManager;
  /** Data-directory writability, reported by every writer (policy, inventory, audit) and shown by /readyz. */
  storage: StorageHealth;
  /** Logs and counts (`tollgate_background_errors_total{task}`) a failure of a background task. */
  reportError: BackgroundErrorReporter;
  /** Every decision, scrub result and access log entry, in batches. */
  events: EventBus;
  close(): Promise<void>;
}

const ADS_SERVICE_NAME = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
const ALL_SERVICES = ['', 'envoy.service.auth.v3.Authorization', 'envoy.service.ext_proc.v3.ExternalProcessor', ADS_SERVICE_NAME, 'envoy.service.accesslog.v3.AccessLogService'];

/** Starts gRPC (ext_authz, health) and the admin API from a validated config. */
export async function startServer(config: Config, opts: ServerOptions = {}): Promise<RunningServer> {
  const log = opts.logger ?? createLogger(config.logLevel);
  const admin = splitHostPort(config.adminAddress);
  if (!isLoopback(admin.host) && !config.adminToken && !config.adminTokensFile) {
    throw new Error(`refusing to serve the admin API on ${config.adminAddress} without a token: set TOLLGATE_ADMIN_TOKEN or --admin-token (or a tokens file), or bind to 127.0.0.1`);
  }
  // Read before anything opens: a bad tokens file stops the start naming the entry, with nothing to clean up.
  const adminTokens = await loadAdminTokens(config);
  if (config.downstreamTls === 'mtls' && !config.envoyToken && !isLoopback(splitHostPort(config.grpcAddress).host)) {
    throw new Error(`refusing to serve the gateway's TLS key over ADS on ${config.grpcAddress} without an Envoy token: set TOLLGATE_ENVOY_TOKEN (and the same token in the bootstrap), or bind gRPC to 127.0.0.1`);
  }
  const downstreamFiles = { mode: config.downstreamTls, certFile: config.tlsCertFile, keyFile: config.tlsKeyFile, caFile: config.clientCaFile, trustDomain: config.spiffeTrustDomain };
  const downstream = await loadDownstream(downstreamFiles);
  const envoyCaller = envoyTokenCheck(config.envoyToken);
  // Provider mode: the gateway's own control plane (Istio, Envoy Gateway) owns its xDS stream; no ADS health entry either.
  const SERVICES = config.xds ? ALL_SERVICES : ALL_SERVICES.filter((s) => s !== ADS_SERVICE_NAME);
  const grpcTls = config.grpcTlsCertFile ? await grpcTlsCredentials({ certFile: config.grpcTlsCertFile, keyFile: config.grpcTlsKeyFile!, clientCaFile: config.grpcClientCaFile }, log) : undefined;
  const protos = loadServiceProtos();
  log.info({ ms: Math.round(protos.loadMs) }, 'Envoy service protos loaded');

  const metrics = createMetrics();
  const reportError = backgroundReporter(log, metrics.backgroundErrors);
  const storage = new StorageHealth(config.dataDir);
  metrics.storageWritable.set(1);
  storage.onChange((healthy) => metrics.storageWritable.set(healthy ? 1 : 0));
  const quarantined = (q: { file: string; movedTo: string; reason: string }) => log.error(q, `${q.file} is corrupt (${q.reason}); moved to ${q.movedTo} and starting without it`);
  // With a Redis URL the replicas share policy, inventory, alert state and the xDS fleet view; without one nothing changes.
  const shared = config.redisUrl ? await openRedisState({ redisUrl: config.redisUrl, redisPrefix: config.redisPrefix, replicaId: config.replicaId }, log, reportError) : undefined;
  const policyStore = shared?.policyStore ?? new EmbeddedPolicyStore(config.dataDir, { onQuarantine: quarantined });
  const parser = new PolicyParser({ eager: true });
  const policies = new PolicyManager(policyStore, log, config.policyFile, { prepare: (text, known) => parser.prepare(text, known), reportError, storage, storePath: policyStore.path });
  await policies.init();
  const example = exampleSecretsIn(policies.current.policy.document);
  if (example.length > 0 && !config.demo) {
    policies.close();
    await parser.close();
    await shared?.close();
    throw new Error(`the policy uses the published example secret at ${example.join(', ')} (examples/policy.yaml): anyone can sign identities with it. Set your own (e.g. secret: { env: TOLLGATE_IDENTITY_HMAC }), or run the demo with --demo / TOLLGATE_DEMO=1`);
  }
  metrics.policyVersion.set(policies.current.version);
  policies.subscribe((v) => metrics.policyVersion.set(v.version));
  if (config.policyFile && config.watchPolicy) policies.watchFile();

  const grpcServer = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024, 'grpc.max_concurrent_streams': LIMITS.grpcStreamsPerConnection });
  const health = new HealthImplementation(Object.fromEntries(SERVICES.map((s) => [s, 'NOT_SERVING'])));
  health.addToServer(grpcServer);
  const events = new EventBus({ onError: (err) => reportError('event-subscriber', err) });
  const join = new RequestJoin();
  const dns = new DnsGuard({ lookup: opts.lookup });
  registerAuthz(grpcServer, { policies, dns, sink: decisionSinks(events, opts.decisionSink ?? pinoDecisionSink(log, config.decisionLog), join), metrics, log });
  registerExtProc(grpcServer, { policies, sink: scrubSinks(events, opts.scrubSink ?? pinoScrubSink(log), scrubMetricsSink(metrics)), log, metrics });
  registerAccessLog(grpcServer, events, join, log, countRefusals(envoyCaller, metrics));
  events.subscribe(accessLogCounter(metrics));
  const auditStore = await EmbeddedAuditStore.open({ dataDir: config.dataDir, maxTotalBytes: config.auditMaxBytes, retentionDays: config.auditRetentionDays, onWarn: (m) => log.warn(m) });
  const recorder = new AuditRecorder(instrumentAuditStore(auditStore, metrics), {
    onError: (err, queued) => {
      storage.fail('audit', err, auditStore.dir);
      log.error({ err, queued }, 'audit append failed; retrying');
    },
    onRecovered: (failedForMs) => {
      storage.ok('audit');
      log.warn({ failedForMs }, 'audit appends succeed again');
    },
    onPoison: (err, e) => log.error({ err, decision_id: e.decision_id, kind: e.kind }, 'audit record refused by the store and dropped'),
    onDrop: (n, total) => {
      metrics.auditDropped.inc(n);
      log.error({ n, total }, 'audit records dropped: retry queue full');
    },
  });
  if (config.visibility) recorder.attach(events);
  // Admin changes go straight to the recorder (not the bus): audited even with visibility off, never seen by inventory or alerts.
  const policyAudit = new PolicyAudit(policies, (e) => recorder.record([e]), (err) => reportError('admin-audit', err));
  const auditNow = () => auditStatus({ store: auditStore, recorder });
  registerAuditMetrics(metrics.registry, auditNow);
  const embeddedInventory = shared
    ? undefined
    : await EmbeddedInventoryStore.open({
        dataDir: config.dataDir,
        onError: (err) => reportError('inventory-snapshot', err),
        onQuarantine: quarantined,
        onWrite: (err) => (err ? storage.fail('inventory', err, embeddedInventory?.snapshotPath) : storage.ok('inventory')),
      });
  const inventoryStore = shared?.inventoryStore ?? embeddedInventory!;
  const inventory = new Inventory({ store: inventoryStore, onError: (err) => reportError('inventory-fold', err) });
  if (config.visibility) inventory.attach(events);
  const live = new LiveActivity();
  if (config.visibility) live.attach(events);
  const alerts = new AlertEngine(policies.current.alerts, { ...alertDeliveryHooks(metrics, log, abortableSleep), onError: (err) => reportError('alert-delivery', err), shared: shared?.alertState });
  if (config.visibility) alerts.attach(events);
  policies.subscribe((v) => alerts.reload(v.alerts));

  // Every gateway shares the policy's snapshot (one node group); the cache could key by node.cluster instead.
  const cache = new SnapshotCache({ groupOf: () => POLICY_GROUP, logger: log });
  const xdsStatus = new XdsStatus();
  const xdsWatch = xdsMetrics(metrics, xdsStatus);
  const stopXds: Array<() => void> = [xdsWatch.stop];
  let ads: AdsHandle | undefined;
  if (config.xds) {
    const envoyTlsFiles = config.grpcEnvoyCertFile ? [config.grpcEnvoyCertFile, config.grpcEnvoyKeyFile!, (config.grpcServerCaFile ?? config.grpcClientCaFile)!] : undefined;
    if (envoyTlsFiles && !envoyTlsFiles[2]) throw new Error("the pushed tollgate cluster needs a CA to verify Tollgate's certificate: set TOLLGATE_GRPC_SERVER_CA (or TOLLGATE_GRPC_CLIENT_CA)");
    const loadEnvoyTls = async () => {
      if (!envoyTlsFiles) return undefined;
      const [pair, trustedCa] = await Promise.all([loadCertPair(envoyTlsFiles[0]!, envoyTlsFiles[1]!), loadCaBundle(envoyTlsFiles[2]!, "CA bundle for Tollgate's gRPC certificate")]);
      return { clientCertificateChain: pair.certificateChain, clientPrivateKey: pair.privateKey, trustedCa };
    };
    let xdsOptions = xdsOptionsSchema.parse({ tollgateAddress: config.xdsTollgateAddress ?? config.grpcAddress, listenPort: config.egressPort, downstream, envoyToken: config.envoyToken, tollgateTls: await loadEnvoyTls() });
    const publisher = new PolicyPublisher(cache, xdsOptions, log);
    xdsWatch.published(publisher.publish(policies.current));
    policies.subscribe((v) => xdsWatch.published(publisher.publish(v)));
    const republish = (next: typeof xdsOptions) => {
      xdsOptions = next;
      xdsWatch.published(publisher.updateOptions(next, policies.current));
    };
    stopXds.push(watchDownstream(downstreamFiles, downstream, log, (next) => republish({ ...xdsOptions, downstream: next })));
    if (envoyTlsFiles) stopXds.push(watchPemFiles(envoyTlsFiles, loadEnvoyTls, xdsOptions.tollgateTls, log, (next) => republish({ ...xdsOptions, tollgateTls: next }), { what: "Envoy's gRPC client" }));
    ads = registerAds(grpcServer, cache, xdsStatus, log, envoyCaller, (limit) => metrics.limitRejections.inc({ limit }));
  }
  const fleet = shared?.attach(policies, xdsStatus);
  // Each replica ships its local chain to Redis Streams; /v1/audit then answers for the fleet.
  const auditFleet = shared ? await startAuditFleet({ conn: shared.conn, local: auditStore, log }) : undefined;

  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync(config.grpcAddress, grpcTls?.credentials ?? grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
  for (const s of SERVICES) health.setStatus(s, 'SERVING');
  let ready = true;

  const app = buildAdmin({ policies, dns, metrics, tokens: adminTokens, policyAudit, ready: () => ready, storage, degraded: shared ? () => [...shared.problems(), ...(auditFleet?.problems() ?? [])] : undefined, bindHost: admin.host, allowedHosts: config.adminAllowedHosts, extraRoutes: [(a) => xdsRoutes(a, xdsStatus, cache, config.xds, fleet), (a) => alertRoutes(a, alerts), (a) => auditRoutes(a, auditFleet?.view ?? auditStore, auditNow), (a) => inventoryRoutes(a, inventory), (a) => dashboardRoutes(a, { policies, inventory, live })] });
  await app.listen({ host: admin.host, port: admin.port });
  const adminPort = (app.server.address() as { port: number }).port;
  const metricsServer = config.metricsAddress ? await startMetricsServer(config.metricsAddress, metrics.registry) : undefined;
  log.info({ grpc: `${splitHostPort(config.grpcAddress).host}:${grpcPort}`, admin: `${admin.host}:${adminPort}`, grpcTls: grpcTls ? (config.grpcClientCaFile ? 'mtls' : 'tls') : 'off', xds: config.xds, ...(metricsServer ? { metrics: metricsServer.port } : {}), policyVersion: policies.current.version }, 'tollgate serving');

  return {
    grpcPort,
    adminPort,
    metricsPort: metricsServer?.port,
    policies,
    storage,
    reportError,
    events,
    // Stop taking requests first, then drain: every event of an answered request reaches the audit log.
    async close() {
      ready = false;
      for (const s of SERVICES) health.setStatus(s, 'NOT_SERVING');
      policies.close();
      for (const stop of stopXds) stop();
      grpcTls?.stop();
      await app.close();
      await metricsServer?.close();
      await parser.close();
      // ADS streams never end on their own: end them with UNAVAILABLE (Envoy reconnects, to another replica), give
      // in-flight Check and Process calls a moment, then cut the rest.
      ads?.drain();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          grpcServer.forceShutdown();
          resolve();
        }, 2000);
        grpcServer.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await events.flush();
      await recorder.close();
      await auditFleet?.close();
      await auditStore.close();
      await inventoryStore.close();
      await alerts.close();
      await shared?.close();
    },
  };
}
