import { hostname } from 'node:os';
import { z } from 'zod';
import { parseByteSize } from '../audit/size-spec.js';

const address = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port');

export const configSchema = z.object({
  grpcAddress: address.default('127.0.0.1:7070'),
  adminAddress: address.default('127.0.0.1:7071'),
  dataDir: z.string().min(1).default('./data'),
  policyFile: z.string().min(1).optional(),
  adminToken: z.string().min(16, 'admin token must be at least 16 characters').optional(),
  /** YAML/JSON list of `{name, role: viewer|editor|admin, token | sha256}` (src/admin/roles.ts); read and checked at start. */
  adminTokensFile: z.string().min(1).optional(),
  /** Names (besides IP literals, localhost and the bind host) clients may use in the admin API's `Host`: the DNS-rebinding guard. */
  adminAllowedHosts: z.array(z.string().regex(/^[A-Za-z0-9.-]+$/, 'a host name without port or scheme')).default([]),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  watchPolicy: z.boolean().default(true),
  /** Tollgate's gRPC address as the Envoy gateways reach it (goes into the pushed clusters); default: grpcAddress. */
  xdsTollgateAddress: address.optional(),
  /** Port of the egress listener pushed to Envoy. */
  egressPort: z.coerce.number().int().min(1).max(65535).default(10000),
  /**
   * Which ext_authz decisions also get a pino line on stdout (`"audit":"decision"`): every one, denials only
   * (`deny` and `report_deny`), or none. The audit log keeps every decision whatever this says.
   */
  decisionLog: z.enum(['all', 'deny', 'off']).default('all'),
  /** Events → audit log, inventory and alerts. Off only to measure their cost (the pino decision line stays). */
  visibility: z.boolean().default(true),
  /** Audit log size cap (all segments, compressed size): the oldest sealed segments go first. `10GiB`, `500MB`, bytes; `off`: none. */
  auditMaxBytes: z
    .union([z.number(), z.string()])
    .default('10GiB')
    .transform((v, ctx) => parseByteSize(v) ?? (ctx.addIssue({ code: 'custom', message: 'expected a size such as 10GiB, 500MB or a number of bytes (off: no cap)' }), z.NEVER)),
  /** Audit segments sealed longer ago than this many days are removed (0: kept forever). */
  auditRetentionDays: z.coerce.number().min(0).default(30),
  /** Allow a policy that uses the example secrets from examples/policy.yaml (`npm start`, the compose demo). */
  demo: z.boolean().default(false),
  /** How workloads reach the pushed egress listener: see `downstreamSchema` in src/xds/resources/options.ts. */
  downstreamTls: z.enum(['plaintext', 'mtls', 'sidecar']).default('plaintext'),
  /** mtls: PEM files of the gateway's certificate chain and key, and the CA bundle client certificates chain to. */
  tlsCertFile: z.string().min(1).optional(),
  tlsKeyFile: z.string().min(1).optional(),
  clientCaFile: z.string().min(1).optional(),
  /** mtls: accept only client certificates with a SPIFFE ID in this trust domain. */
  spiffeTrustDomain: z.string().regex(/^[a-z0-9._-]+$/, 'a SPIFFE trust domain is lower-case letters, digits, ".", "_" and "-"').optional(),
  /** Shared secret Envoy presents as `x-tollgate-token` on ADS and access-log streams; required to serve SDS secrets off loopback. */
  envoyToken: z.string().min(16, 'the Envoy token must be at least 16 characters').optional(),
  /** Serve ADS (Tollgate configures its own gateway); off in provider mode, where Istio or Envoy Gateway owns the xDS stream. */
  xds: z.boolean().default(true),
  /** TLS on the gRPC port: Tollgate's certificate chain and key (PEM, reloaded on change), and the CA Envoy's client certificate must chain to. */
  grpcTlsCertFile: z.string().min(1).optional(),
  grpcTlsKeyFile: z.string().min(1).optional(),
  grpcClientCaFile: z.string().min(1).optional(),
  /** The client certificate the pushed `tollgate` cluster presents (SDS), and the CA it verifies Tollgate with (default: grpcClientCaFile). */
  grpcEnvoyCertFile: z.string().min(1).optional(),
  grpcEnvoyKeyFile: z.string().min(1).optional(),
  grpcServerCaFile: z.string().min(1).optional(),
  /** `host:port` of a token-free Prometheus endpoint (GET /metrics only); the admin API's /metrics keeps its token. */
  metricsAddress: address.optional(),
  /** Share policy, inventory, alert state and the xDS fleet view with other replicas through this Redis (see README "Scaling out with Redis"); unset: embedded stores. */
  redisUrl: z.string().regex(/^(rediss?|rediss?\+sentinel|rediss?\+cluster):\/\//, 'expected redis://, rediss://, redis+sentinel:// or redis+cluster://').optional(),
  /** Prefix of every Redis key (inside the hash tag). */
  redisPrefix: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'letters, digits, ".", "_", ":" and "-"').default('tollgate:'),
  /** This replica's name in shared state (xDS fleet view, audit); default hostname-pid. */
  replicaId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, '1-64 letters, digits, ".", "_" or "-"').default(() => `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 50)}-${process.pid}`),
}).superRefine((c, ctx) => {
  if (!c.grpcTlsCertFile !== !c.grpcTlsKeyFile) ctx.addIssue({ code: 'custom', path: [c.grpcTlsCertFile ? 'grpcTlsKeyFile' : 'grpcTlsCertFile'], message: 'gRPC TLS needs both TOLLGATE_GRPC_TLS_CERT and TOLLGATE_GRPC_TLS_KEY' });
  if (c.grpcClientCaFile && !c.grpcTlsCertFile) ctx.addIssue({ code: 'custom', path: ['grpcClientCaFile'], message: 'a gRPC client CA needs TLS on the gRPC port (TOLLGATE_GRPC_TLS_CERT, TOLLGATE_GRPC_TLS_KEY)' });
  if (!c.grpcEnvoyCertFile !== !c.grpcEnvoyKeyFile) ctx.addIssue({ code: 'custom', path: [c.grpcEnvoyCertFile ? 'grpcEnvoyKeyFile' : 'grpcEnvoyCertFile'], message: "Envoy's client certificate needs both TOLLGATE_GRPC_ENVOY_CERT and TOLLGATE_GRPC_ENVOY_KEY" });
  if (c.grpcClientCaFile && !c.grpcEnvoyCertFile && c.xds) ctx.addIssue({ code: 'custom', path: ['grpcEnvoyCertFile'], message: "the gRPC port requires client certificates: give the pushed tollgate cluster one (TOLLGATE_GRPC_ENVOY_CERT, TOLLGATE_GRPC_ENVOY_KEY), or run with TOLLGATE_XDS=off" });
  if (c.downstreamTls !== 'mtls') return;
  for (const key of ['tlsCertFile', 'tlsKeyFile', 'clientCaFile'] as const) {
    if (!c[key]) ctx.addIssue({ code: 'custom', path: [key], message: `downstream mTLS needs ${key} (TOLLGATE_TLS_CERT, TOLLGATE_TLS_KEY, TOLLGATE_CLIENT_CA)` });
  }
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** Process configuration from TOLLGATE_* environment variables, overridden by explicit values (CLI flags). */
export function loadConfig(overrides: ConfigInput = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const fromEnv: ConfigInput = {
    grpcAddress: env.TOLLGATE_GRPC_ADDRESS,
    adminAddress: env.TOLLGATE_ADMIN_ADDRESS,
    dataDir: env.TOLLGATE_DATA_DIR,
    policyFile: env.TOLLGATE_POLICY,
    adminToken: env.TOLLGATE_ADMIN_TOKEN,
    adminTokensFile: env.TOLLGATE_ADMIN_TOKENS_FILE,
    adminAllowedHosts: env.TOLLGATE_ADMIN_ALLOWED_HOSTS?.split(',').map((h) => h.trim()).filter((h) => h !== ''),
    logLevel: env.TOLLGATE_LOG_LEVEL as ConfigInput['logLevel'],
    xdsTollgateAddress: env.TOLLGATE_XDS_TOLLGATE_ADDRESS,
    egressPort: env.TOLLGATE_EGRESS_PORT,
    auditMaxBytes: env.TOLLGATE_AUDIT_MAX_BYTES,
    auditRetentionDays: env.TOLLGATE_AUDIT_RETENTION_DAYS,
    decisionLog: env.TOLLGATE_DECISION_LOG as ConfigInput['decisionLog'],
    visibility: env.TOLLGATE_VISIBILITY === undefined ? undefined : env.TOLLGATE_VISIBILITY !== 'off',
    demo: env.TOLLGATE_DEMO === undefined ? undefined : ['1', 'true', 'yes'].includes(env.TOLLGATE_DEMO.toLowerCase()),
    downstreamTls: env.TOLLGATE_DOWNSTREAM_TLS as ConfigInput['downstreamTls'],
    tlsCertFile: env.TOLLGATE_TLS_CERT,
    tlsKeyFile: env.TOLLGATE_TLS_KEY,
    clientCaFile: env.TOLLGATE_CLIENT_CA,
    spiffeTrustDomain: env.TOLLGATE_SPIFFE_TRUST_DOMAIN,
    envoyToken: env.TOLLGATE_ENVOY_TOKEN,
    xds: env.TOLLGATE_XDS === undefined ? undefined : env.TOLLGATE_XDS !== 'off',
    grpcTlsCertFile: env.TOLLGATE_GRPC_TLS_CERT,
    grpcTlsKeyFile: env.TOLLGATE_GRPC_TLS_KEY,
    grpcClientCaFile: env.TOLLGATE_GRPC_CLIENT_CA,
    grpcEnvoyCertFile: env.TOLLGATE_GRPC_ENVOY_CERT,
    grpcEnvoyKeyFile: env.TOLLGATE_GRPC_ENVOY_KEY,
    grpcServerCaFile: env.TOLLGATE_GRPC_SERVER_CA,
    metricsAddress: env.TOLLGATE_METRICS_ADDRESS,
    redisUrl: env.TOLLGATE_REDIS_URL || undefined,
    redisPrefix: env.TOLLGATE_REDIS_PREFIX,
    replicaId: env.TOLLGATE_REPLICA_ID,
  };
  const defined = (o: ConfigInput) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const merged = { ...defined(fromEnv), ...defined(overrides) };
  const parsed = configSchema.safeParse(merged);
  if (parsed.success) return parsed.data;
  // One line per problem, named by setting ("adminToken: admin token must be at least 16 characters"), not a zod dump.
  throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`));
}

export function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i).replace(/^\[|\]$/g, '');
  return { host, port: Number(addr.slice(i + 1)) };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Invalid process configuration: every problem, each naming its setting. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}
