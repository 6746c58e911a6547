import { obj, str, type Json, type SemanticProblem, type SnapshotIndex } from './problem.js';

/** What a Secret carries: the member of its `type` oneof that is set. */
export type SecretKind = 'tls_certificate' | 'session_ticket_keys' | 'validation_context' | 'generic_secret';

const KINDS: readonly SecretKind[] = ['tls_certificate', 'session_ticket_keys', 'validation_context', 'generic_secret'];

export function secretKind(secret: Json): SecretKind | undefined {
  return KINDS.find((k) => secret[k] !== undefined);
}

type Report = (p: Omit<SemanticProblem, 'resource'>) => void;

/**
 * An SdsSecretConfig must name a secret Envoy can get: without `sds_config` a static secret from the bootstrap
 * (Tollgate's bootstrap defines none), over ADS a Secret of this snapshot, of the kind the field asks for.
 * SDS sources other than ADS are not Tollgate's to check.
 */
export function checkSdsReference(ref: unknown, want: 'tls_certificate' | 'validation_context', side: 'downstream' | 'upstream', path: string, index: SnapshotIndex, report: Report): void {
  const config = obj(ref) ?? {};
  const name = str(config.name) ?? '';
  const source = obj(config.sds_config);
  if (!source) {
    report({
      rule: 'tls.sds-secret-exists',
      origin: 'envoy-rejects',
      path: `${path}.name`,
      message: `Unknown static secret: ${name}`,
      note: 'without sds_config Envoy looks the name up among the bootstrap static secrets, and Tollgate bootstraps none',
      source: { file: 'source/common/tls/context_config_impl.cc', fn: 'getTlsCertificateConfigProviders / getProviderFromSds' },
    });
    return;
  }
  if (source.ads === undefined) return;
  const secret = index.secrets.get(name);
  if (!secret) {
    report({
      rule: 'tls.sds-secret-exists',
      origin: 'envoy-runtime',
      path: `${path}.name`,
      message: `SDS secret '${name}' is not in the snapshot`,
      note:
        side === 'downstream'
          ? 'the listener warms until initial_fetch_timeout (15 s), then every TLS connection is reset (downstream_context_secrets_not_ready)'
          : 'the cluster warms until initial_fetch_timeout (15 s), then every upstream connection fails (upstream_context_secrets_not_ready)',
      source: side === 'downstream' ? { file: 'source/common/tls/server_ssl_socket.cc', fn: 'ServerSslSocketFactory::createDownstreamTransportSocket' } : { file: 'source/common/tls/client_ssl_socket.cc', fn: 'ClientSslSocketFactory::createTransportSocket' },
    });
    return;
  }
  const kind = secretKind(secret);
  if (kind !== want) {
    report({
      rule: 'tls.sds-secret-kind',
      origin: 'tollgate',
      path: `${path}.name`,
      message: `secret '${name}' holds a ${kind ?? 'nothing'}, not a ${want}`,
      note: `Envoy's SDS provider for this field reads only the secret's ${want}, which is empty here`,
      source: { file: 'source/common/secret/sds_api.h', fn: want === 'tls_certificate' ? 'TlsCertificateSdsApi::setSecret' : 'CertificateValidationContextSdsApi::setSecret' },
    });
  }
}
