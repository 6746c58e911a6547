import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { PolicyError } from '../engine/policy-manager.js';
import { installProcessGuards } from '../engine/process-guard.js';
import { createLogger } from '../logger.js';
import { startServer, type RunningServer } from '../server.js';

export const serveHelp = `Usage: tollgate serve [--policy FILE] [--grpc HOST:PORT] [--admin HOST:PORT] [--data DIR] [--admin-token TOKEN]

Starts the gRPC server (ext_authz, health; default 127.0.0.1:7070) and the admin REST API
(default 127.0.0.1:7071). The policy file is watched and hot-reloaded; PUT /v1/policy versions
persist in the data directory (default ./data). Environment: TOLLGATE_GRPC_ADDRESS,
TOLLGATE_ADMIN_ADDRESS, TOLLGATE_DATA_DIR, TOLLGATE_POLICY, TOLLGATE_ADMIN_TOKEN, TOLLGATE_ADMIN_ALLOWED_HOSTS,
TOLLGATE_LOG_LEVEL.
The admin API refuses a non-loopback address without a token.

Downstream TLS of the pushed egress listener (--downstream-tls, TOLLGATE_DOWNSTREAM_TLS):
  plaintext  (default) no TLS; x-forwarded-client-cert is dropped by Envoy
  mtls       Envoy requires client certificates signed by --client-ca (TOLLGATE_CLIENT_CA) and serves
             --tls-cert/--tls-key (TOLLGATE_TLS_CERT, TOLLGATE_TLS_KEY) pushed as SDS secrets; the files are
             watched and a rotated certificate is pushed without restarting Envoy.
             --spiffe-trust-domain (TOLLGATE_SPIFFE_TRUST_DOMAIN) accepts only SPIFFE IDs of that domain.
  sidecar    a sidecar terminating mTLS in front of the gateway sets XFCC, which Envoy forwards unchanged
TOLLGATE_ENVOY_TOKEN: shared secret Envoy must send as x-tollgate-token on ADS and access-log streams
(put the same value in the bootstrap: tollgate bootstrap --envoy-token-env); required for mtls off loopback.
--no-xds (TOLLGATE_XDS=off): provider mode, no ADS; Istio or Envoy Gateway configures the gateway and calls
ext_authz, ext_proc and ALS here.
--grpc-tls-cert/--grpc-tls-key (TOLLGATE_GRPC_TLS_CERT, TOLLGATE_GRPC_TLS_KEY): TLS on the gRPC port, reloaded when
the files change; --grpc-client-ca (TOLLGATE_GRPC_CLIENT_CA) requires client certificates chaining to it. The pushed
tollgate cluster then presents TOLLGATE_GRPC_ENVOY_CERT/TOLLGATE_GRPC_ENVOY_KEY and verifies Tollgate with
TOLLGATE_GRPC_SERVER_CA (default: the client CA), all pushed as SDS secrets.
--metrics HOST:PORT (TOLLGATE_METRICS_ADDRESS): GET /metrics without the admin token on its own address.
--redis URL (TOLLGATE_REDIS_URL): share policy, inventory, alert state and the xDS fleet view with other
replicas: redis://[user:pass@]host:port[/db], rediss://..., redis+sentinel://h1:26379,h2:26379/master[/db],
redis+cluster://h1:6379,h2:6379. TOLLGATE_REDIS_PREFIX (default tollgate:), TOLLGATE_REPLICA_ID (default hostname-pid).`;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      policy: { type: 'string' },
      grpc: { type: 'string' },
      admin: { type: 'string' },
      data: { type: 'string' },
      'admin-token': { type: 'string' },
      demo: { type: 'boolean' },
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
      adminToken: values['admin-token'],
      demo: values.demo,
      logLevel: values['log-level'] as never,
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
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  uninstall();
  return 0;
}
