/** Resource names: stable, derived from the destination, so unchanged destinations keep their version. */
export const TOLLGATE_CLUSTER = 'tollgate';
export const EGRESS_LISTENER = 'egress_http';
export const EGRESS_ROUTES = 'egress_http';
export const DFP_TLS_CLUSTER = 'egress_dfp_tls';
export const DFP_PLAIN_CLUSTER = 'egress_dfp_plain';
export const DFP_DNS_CACHE = 'egress_dns_cache';

/** Cluster that originates TLS (or plain HTTP) to one exact destination host:port. */
export function originCluster(scheme: 'http' | 'https', host: string, port: number): string {
  return `out_${scheme}|${host}|${port}`;
}

/** Cluster that carries a CONNECT tunnel's bytes to one exact host:port (the client does TLS). */
export function tunnelCluster(host: string, port: number): string {
  return `tunnel|${host}|${port}`;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
}

/** SDS secrets of the egress listener's downstream mTLS, served over the same ADS stream. */
export const DOWNSTREAM_CERT_SECRET = 'egress_server_cert';
export const DOWNSTREAM_CA_SECRET = 'egress_client_ca';

/** gRPC metadata key carrying the shared Envoy token (access-log stream, ADS). */
export const ENVOY_TOKEN_HEADER = 'x-tollgate-token';
