import { z } from 'zod';

/** How the generated Envoy config reaches Tollgate and the outside world. */
export const xdsOptionsSchema = z.object({
  /** Tollgate's gRPC address as Envoy sees it (ext_authz, ext_proc, ALS). */
  tollgateAddress: z.string().default('127.0.0.1:7070'),
  /** Where the gateway accepts plain HTTP and CONNECT from workloads. */
  listenAddress: z.string().default('0.0.0.0'),
  listenPort: z.number().int().min(1).max(65535).default(10000),
  /** CA bundle used to verify upstream certificates (Debian/Ubuntu path by default). */
  trustedCaFile: z.string().default('/etc/ssl/certs/ca-certificates.crt'),
  /** Fail closed when Tollgate is unreachable (Envoy's `failure_mode_allow: false`). */
  failureModeAllow: z.boolean().default(false),
  authzTimeoutMs: z.number().int().positive().default(250),
  extProcTimeoutMs: z.number().int().positive().default(500),
  /** Add the ext_proc (scrubbing) filter to the chain. */
  extProc: z.boolean().default(true),
  /** Stream access logs to Tollgate's ALS. */
  accessLog: z.boolean().default(true),
});

export type XdsOptions = z.infer<typeof xdsOptionsSchema>;
