import { z } from 'zod';

/**
 * How workloads connect to the gateway's egress listener, which decides where their identity can come from:
 * - `plaintext`: no TLS; Envoy drops any x-forwarded-client-cert (conn_manager_utility.cc `mutateXfccRequestHeader`
 *   removes it on a connection that is not mutual TLS), so only signed headers and source addresses identify.
 * - `mtls`: Envoy terminates TLS and requires a client certificate signed by `trustedCa`; ext_authz then sees the
 *   peer's URI SAN as `source.principal`. Certificate, key and CA reach Envoy as SDS secrets over ADS.
 * - `sidecar`: a sidecar in front of the gateway terminates mTLS and sets XFCC; Envoy forwards it unchanged
 *   (ALWAYS_FORWARD_ONLY). Trustworthy only when nothing but that sidecar can reach the listener.
 */
export const downstreamSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('plaintext') }),
  z.object({ mode: z.literal('sidecar') }),
  z.object({
    mode: z.literal('mtls'),
    /** PEM: the gateway's server certificate chain and private key, and the CA bundle client certificates must chain to. */
    certificateChain: z.string().includes('BEGIN CERTIFICATE'),
    privateKey: z.string().includes('PRIVATE KEY'),
    trustedCa: z.string().includes('BEGIN CERTIFICATE'),
    /** Accept only client certificates with a URI SAN in this SPIFFE trust domain (e.g. `prod.example`). */
    trustDomain: z.string().regex(/^[a-z0-9._-]+$/).optional(),
  }),
]);
export type DownstreamOptions = z.infer<typeof downstreamSchema>;

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
  /** Sent by Envoy as `x-tollgate-token` on the access-log stream, so Tollgate accepts access logs only from its gateways. */
  envoyToken: z.string().min(16).optional(),
  downstream: downstreamSchema.default({ mode: 'plaintext' }),
  /** mTLS from Envoy to Tollgate's gRPC port: Envoy's client certificate and the CA Tollgate's certificate chains to (PEM, pushed as SDS). */
  tollgateTls: z
    .object({
      clientCertificateChain: z.string().includes('BEGIN CERTIFICATE'),
      clientPrivateKey: z.string().includes('PRIVATE KEY'),
      trustedCa: z.string().includes('BEGIN CERTIFICATE'),
      /** SNI and the SAN Tollgate's certificate must carry; default: the host of tollgateAddress. */
      sni: z.string().min(1).optional(),
    })
    .optional(),
});

export type XdsOptions = z.infer<typeof xdsOptionsSchema>;
