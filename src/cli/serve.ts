import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { PolicyError } from '../engine/policy-manager.js';
import { installProcessGuards } from '../engine/process-guard.js';
import { createLogger } from '../logger.js';
import { startServer, type RunningServer } from '../server.js';

export const serveHelp = `Usage: tollgate serve [options]

Starts the gRPC port (ext_authz, ext_proc, access logs, ADS, grpc.health.v1) and the admin REST API.
The policy file is watched and hot-reloaded (ConfigMap symlink swaps too); PUT /v1/policy versions
persist in the data directory. Every option is also an environment variable; a flag wins.

Serving
  --policy FILE            TOLLGATE_POLICY              policy file to serve and watch
  --grpc HOST:PORT         TOLLGATE_GRPC_ADDRESS        gRPC address (default 127.0.0.1:7070)
  --admin HOST:PORT        TOLLGATE_ADMIN_ADDRESS       admin API (default 127.0.0.1:7071; needs a token off loopback)
  --admin-token TOKEN      TOLLGATE_ADMIN_TOKEN         bearer token for the admin API (16+ characters; role admin)
  --admin-tokens FILE      TOLLGATE_ADMIN_TOKENS_FILE   named tokens with roles viewer|editor|admin (YAML/JSON list)
                           TOLLGATE_ADMIN_ALLOWED_HOSTS extra Host names the admin API answers to
  --data DIR               TOLLGATE_DATA_DIR            policy versions, audit log, inventory (default ./data)
  --audit-max-bytes SIZE   TOLLGATE_AUDIT_MAX_BYTES     audit log size cap, oldest segments removed first (default 10GiB; off)
  --audit-retention-days N TOLLGATE_AUDIT_RETENTION_DAYS audit segments older than this are removed (default 30; 0 keeps)
  --log-level LEVEL        TOLLGATE_LOG_LEVEL           fatal|error|warn|info|debug|trace|silent (default info)
  --decision-log WHICH     TOLLGATE_DECISION_LOG        all|deny|off: decisions logged to stdout (default all; the audit log has every one)
  --metrics HOST:PORT      TOLLGATE_METRICS_ADDRESS     GET /metrics without the admin token on its own address
  --demo                   TOLLGATE_DEMO=1              allow the example policy's published secrets
                           TOLLGATE_VISIBILITY=off      no audit log, inventory or alerts (only to measure their cost)

The gateway Tollgate configures over xDS
  --no-xds                 TOLLGATE_XDS=off             provider mode: Istio or Envoy Gateway owns the gateway's xDS
  --xds-address HOST:PORT  TOLLGATE_XDS_TOLLGATE_ADDRESS how Envoy reaches this gRPC port (default: --grpc)
  --egress-port PORT       TOLLGATE_EGRESS_PORT         the pushed egress listener's port (default 10000)
  --downstream-tls MODE    TOLLGATE_DOWNSTREAM_TLS      plaintext (default; Envoy drops XFCC) | mtls | sidecar
  --tls-cert FILE          TOLLGATE_TLS_CERT            mtls: the gateway's certificate chain (pushed as SDS, rotated live)
  --tls-key FILE           TOLLGATE_TLS_KEY             mtls: its private key
  --client-ca FILE         TOLLGATE_CLIENT_CA           mtls: the CA workload certificates chain to
  --spiffe-trust-domain D  TOLLGATE_SPIFFE_TRUST_DOMAIN mtls: accept only SPIFFE IDs of this trust domain
                           TOLLGATE_ENVOY_TOKEN         secret Envoy sends as x-tollgate-token on ADS and access logs
                                                        (tollgate bootstrap --envoy-token-env); required for mtls off loopback
  sidecar: a sidecar terminating mTLS in front of the gateway sets XFCC, which Envoy forwards unchanged
  (ALWAYS_FORWARD_ONLY); trust it only when nothing else can reach the listener.

TLS between Envoy and this gRPC port
  --grpc-tls-cert FILE     TOLLGATE_GRPC_TLS_CERT       serve TLS (reloaded when the files change)
  --grpc-tls-key FILE      TOLLGATE_GRPC_TLS_KEY
  --grpc-client-ca FILE    TOLLGATE_GRPC_CLIENT_CA      require client certificates chaining to it
                           TOLLGATE_GRPC_ENVOY_CERT/_KEY the certificate the pushed tollgate cluster presents (SDS)
                           TOLLGATE_GRPC_SERVER_CA      how Envoy verifies this port (default: the client CA)

Scale-out
  --redis URL              TOLLGATE_REDIS_URL           share policy, inventory, alerts, audit and the xDS fleet view:
                                                        redis://[user:pass@]host:port[/db], rediss://...,
                                                        redis+sentinel://h1:26379,h2:26379/master[/db],
                                                        redis+cluster://h1:6379,h2:6379
                           TOLLGATE_REDIS_PREFIX        key prefix (default tollgate:)
                           TOLLGATE_REPLICA_ID          this replica's name (default hostname-pid)`;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      policy: { type: 'string' },
      grpc: { type: 'string' },
      admin: { type: 'string' },
      data: { type: 'string' },
      'audit-max-bytes': { type: 'string' },
      'audit-retention-days': { type: 'string' },
      'admin-token': { type: 'string' },
      'admin-tokens': { type: 'string' },
      demo: { type: 'boolean' },
      'decision-log': { type: 'string' },
      'log-level': { type: 'string' },
      'downstream-tls': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'client-ca': { type: 'string' },
      'spiffe-trust-domain': { type: 'string' },
      'no-xds': { type: 'boolean' },
      'grpc-tls-cert': { type: 'string' },
      'grpc-tls-key': { type: 'string' },
      'grpc-client-ca': { type: 'string' },
      metrics: { type: 'string' },
      redis: { type: 'string' },
      'xds-address': { type: 'string' },
      'egress-port': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(serveHelp);
    return 0;
  }
  let server: RunningServer | undefined;
  let uninstall = () => {};
  try {
    const config = loadConfig({
      policyFile: values.policy,
      grpcAddress: values.grpc,
      adminAddress: values.admin,
      dataDir: values.data,
      auditMaxBytes: values['audit-max-bytes'],
      auditRetentionDays: values['audit-retention-days'] as never,
      adminToken: values['admin-token'],
      adminTokensFile: values['admin-tokens'],
      demo: values.demo,
      logLevel: values['log-level'] as never,
      decisionLog: values['decision-log'] as never,
      downstreamTls: values['downstream-tls'] as never,
      tlsCertFile: values['tls-cert'],
      tlsKeyFile: values['tls-key'],
      clientCaFile: values['client-ca'],
      spiffeTrustDomain: values['spiffe-trust-domain'],
      ...(values['no-xds'] ? { xds: false } : {}),
      grpcTlsCertFile: values['grpc-tls-cert'],
      grpcTlsKeyFile: values['grpc-tls-key'],
      grpcClientCaFile: values['grpc-client-ca'],
      metricsAddress: values.metrics,
      redisUrl: values.redis,
      xdsTollgateAddress: values['xds-address'],
      egressPort: values['egress-port'],
    });
    const logger = createLogger(config.logLevel);
    uninstall = installProcessGuards({ log: logger, report: () => server?.reportError });
    server = await startServer(config, { logger });
  } catch (err) {
    uninstall();
    console.error(`tollgate serve: ${err instanceof PolicyError ? err.message : (err as Error).message}`);
    // Whatever startup had opened (files, timers) must not keep a failed process alive: a supervisor restarts a dead one, never a hung one.
    setTimeout(() => process.exit(1), 1000).unref();
    return 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  // Drain: readiness false, no new calls, in-flight calls answered, events flushed to the audit log. A second
  // signal means "now": exit without draining.
  const now = (second: NodeJS.Signals) => {
    console.error(`tollgate serve: ${second} while draining after ${signal}; exiting now`);
    process.exit(130);
  };
  process.once('SIGINT', now);
  process.once('SIGTERM', now);
  await server.close();
  uninstall();
  return 0;
}
