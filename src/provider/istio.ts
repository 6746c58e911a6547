import { stringify } from 'yaml';
import { EXT_AUTHZ_NAMESPACE } from '../authz/check-response.js';
import type { CompiledPolicy } from '../policy/compile.js';
import {
  EXT_AUTHZ_TIMEOUT_MS,
  EXT_PROC_GRPC_TIMEOUT_MS,
  EXT_PROC_MESSAGE_TIMEOUT_MS,
  EXT_PROC_REQUEST_ATTRIBUTES,
  policyDestinations,
  renderYaml,
  serviceHostPort,
  type Manifest,
  type ProviderOptions,
} from './common.js';

/** Name of the extension provider in MeshConfig, which the AuthorizationPolicy refers to. */
export const ISTIO_PROVIDER_NAME = 'tollgate';
/** Labels of Istio's egress gateway Deployment (istio/gateway chart `istio: egressgateway`). */
export const EGRESS_GATEWAY_SELECTOR = { istio: 'egressgateway' };
export const ISTIO_GATEWAY_NAME = 'tollgate-egress';
/** Secret (in the egress gateway's namespace) with the client certificate the gateway presents to Tollgate's TLS port. */
export const ISTIO_CLIENT_CREDENTIAL = 'tollgate-grpc-client';

export interface IstioOptions extends ProviderOptions {
  /** The egress gateway's Service, which workloads' sidecars send external traffic to. */
  egressGatewayService: string;
}

export interface IstioManifests {
  /** MeshConfig fragment: belongs in the IstioOperator / Helm values `meshConfig`, or the `istio` ConfigMap's `mesh`. */
  meshConfig: { extensionProviders: Manifest[] };
  /** The same fragment as an IstioOperator, for `istioctl install -f`. */
  istioOperator: Manifest;
  documents: Manifest[];
  notes: string[];
}

/** Istio's cluster for a Service port, as its own ext_authz uses it (pilot/pkg/security/authz/builder/extauthz.go `parseService`, `model.BuildSubsetKey`). */
export function istioOutboundCluster(host: string, port: number): string {
  return `outbound|${port}||${host}`;
}

/**
 * Tollgate as the ext_authz provider (AuthorizationPolicy CUSTOM) and ext_proc filter (EnvoyFilter: Istio has no
 * ext_proc provider) of Istio's egress gateway, with a route through the gateway and TLS origination per exact
 * destination of the policy.
 */
export function istioManifests(policy: CompiledPolicy, opts: IstioOptions): IstioManifests {
  const { host: tollgateHost, port: tollgatePort } = serviceHostPort(opts.service);
  const ns = opts.namespace;
  const destinations = policyDestinations(policy);
  const meta = (name: string) => ({ name, namespace: ns, labels: { 'app.kubernetes.io/managed-by': 'tollgate' } });

  const { meshConfig, istioOperator } = istioMeshConfig(opts.service);

  const documents: Manifest[] = [];
  documents.push({
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: meta('tollgate-ext-authz'),
    // Every request through the egress gateway goes to Tollgate's Check: an empty rule matches all.
    spec: { selector: { matchLabels: EGRESS_GATEWAY_SELECTOR }, action: 'CUSTOM', provider: { name: ISTIO_PROVIDER_NAME }, rules: [{}] },
  });
  documents.push({
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: meta('tollgate-ext-proc'),
    spec: {
      workloadSelector: { labels: EGRESS_GATEWAY_SELECTOR },
      configPatches: [
        {
          applyTo: 'HTTP_FILTER',
          match: {
            context: 'GATEWAY',
            listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.ext_authz' } } } },
          },
          patch: { operation: 'INSERT_AFTER', value: extProcFilter(istioOutboundCluster(tollgateHost, tollgatePort), tollgateHost) },
        },
      ],
    },
  });
  if (opts.tls) {
    documents.push({
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'DestinationRule',
      metadata: meta('tollgate-grpc-tls'),
      spec: {
        host: tollgateHost,
        // Only for the egress gateway here: a DestinationRule in the root namespace would otherwise apply mesh-wide.
        exportTo: ['.'],
        trafficPolicy: { tls: { mode: 'MUTUAL', credentialName: ISTIO_CLIENT_CREDENTIAL, sni: tollgateHost, subjectAltNames: [tollgateHost] } },
      },
    });
  }

  if (destinations.list.length > 0) {
    const gatewayRef = `${ns}/${ISTIO_GATEWAY_NAME}`;
    // Sidecar → egress gateway over Istio mTLS, so the gateway knows the workload's SPIFFE ID (source.principal).
    documents.push({
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'Gateway',
      metadata: meta(ISTIO_GATEWAY_NAME),
      spec: {
        selector: EGRESS_GATEWAY_SELECTOR,
        servers: [{ port: { number: 443, name: 'https-tollgate', protocol: 'HTTPS' }, hosts: destinations.list.map((d) => d.host), tls: { mode: 'ISTIO_MUTUAL' } }],
      },
    });
    documents.push({
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'DestinationRule',
      metadata: meta('tollgate-egress-gateway'),
      spec: {
        host: opts.egressGatewayService,
        subsets: destinations.list.map((d) => ({
          name: d.slug,
          trafficPolicy: { portLevelSettings: [{ port: { number: 443 }, tls: { mode: 'ISTIO_MUTUAL', sni: d.host } }] },
        })),
      },
    });
    for (const d of destinations.list) {
      const ports = [{ number: 80, name: 'http', protocol: 'HTTP' }];
      if (d.port !== 80) ports.push({ number: d.port, name: d.tls ? `https-${d.port}` : `http-${d.port}`, protocol: d.tls ? 'HTTPS' : 'HTTP' });
      documents.push({
        apiVersion: 'networking.istio.io/v1beta1',
        kind: 'ServiceEntry',
        metadata: meta(`tollgate-${d.slug}`),
        spec: { hosts: [d.host], ports, resolution: 'DNS', location: 'MESH_EXTERNAL' },
      });
      documents.push({
        apiVersion: 'networking.istio.io/v1beta1',
        kind: 'VirtualService',
        metadata: meta(`tollgate-${d.slug}`),
        spec: {
          hosts: [d.host],
          gateways: ['mesh', gatewayRef],
          http: [
            // Workloads send plain HTTP to port 80; their sidecar hands it to the egress gateway over mTLS.
            { match: [{ gateways: ['mesh'], port: 80 }], route: [{ destination: { host: opts.egressGatewayService, subset: d.slug, port: { number: 443 } } }] },
            { match: [{ gateways: [gatewayRef], port: 443 }], route: [{ destination: { host: d.host, port: { number: d.port } } }] },
          ],
        },
      });
      if (d.tls) {
        documents.push({
          apiVersion: 'networking.istio.io/v1beta1',
          kind: 'DestinationRule',
          metadata: meta(`tollgate-${d.slug}`),
          spec: {
            host: d.host,
            // The gateway originates TLS: SNI and the certificate's name are the destination host.
            trafficPolicy: { portLevelSettings: [{ port: { number: d.port }, tls: { mode: 'SIMPLE', sni: d.host, subjectAltNames: [d.host] } }] },
          },
        });
      }
    }
  }

  const notes = [
    ...destinations.skipped.map((s) => `not routed: ${s}`),
    ...identityNotes(policy),
  ];
  return { meshConfig, istioOperator, documents, notes };
}

/** The MeshConfig extension provider (istio/api mesh/v1alpha1/config.proto `EnvoyExternalAuthorizationGrpcProvider`). */
export function istioMeshConfig(service: string): Pick<IstioManifests, 'meshConfig' | 'istioOperator'> {
  const { host, port } = serviceHostPort(service);
  const extensionProvider = {
    name: ISTIO_PROVIDER_NAME,
    envoyExtAuthzGrpc: { service: host, port, timeout: millisToDuration(EXT_AUTHZ_TIMEOUT_MS), failOpen: false, statusOnError: '403' },
  };
  const meshConfig = { extensionProviders: [extensionProvider] };
  return { meshConfig, istioOperator: { apiVersion: 'install.istio.io/v1alpha1', kind: 'IstioOperator', metadata: { name: 'tollgate-extension-provider', namespace: 'istio-system' }, spec: { meshConfig } } };
}

/**
 * The ext_proc filter as Tollgate pushes it to its own gateway (src/xds/resources/listener.ts `httpFilters`), plus
 * the peer's URI SAN and address as request attributes: Istio's ext_authz is not Tollgate's, so its decision
 * metadata may be absent (src/extproc/metadata.ts `peerFromAttributes`).
 */
export function extProcFilter(clusterName: string, authority: string): Manifest {
  return {
    name: 'envoy.filters.http.ext_proc',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
      // An explicit authority: the default is the cluster name, whose `|` is invalid in :authority (Istio's extauthz.go `generateGRPCConfig` replaces it likewise).
      grpc_service: { envoy_grpc: { cluster_name: clusterName, authority }, timeout: millisToDuration(EXT_PROC_GRPC_TIMEOUT_MS) },
      failure_mode_allow: false,
      processing_mode: { request_header_mode: 'SEND', response_header_mode: 'SKIP', request_body_mode: 'NONE', response_body_mode: 'NONE', request_trailer_mode: 'SKIP', response_trailer_mode: 'SKIP' },
      allow_mode_override: true,
      message_timeout: millisToDuration(EXT_PROC_MESSAGE_TIMEOUT_MS),
      // Envoy stores the CheckResponse's dynamic_metadata under this fixed namespace (ext_authz.cc `Filter::onComplete`)
      // and ext_proc forwards only the namespaces listed here (ext_proc.cc `Filter::addDynamicMetadata`).
      metadata_options: { forwarding_namespaces: { untyped: [EXT_AUTHZ_NAMESPACE] } },
      request_attributes: EXT_PROC_REQUEST_ATTRIBUTES,
    },
  };
}

/** Protobuf JSON durations (Istio reads MeshConfig and EnvoyFilter values as protobuf): seconds with a fraction. */
function millisToDuration(ms: number): string {
  return `${ms / 1000}s`;
}

/** Which policy identities an Istio workload can be: only `spiffe:` matches see Istio's mTLS peer. */
function identityNotes(policy: CompiledPolicy): string[] {
  const notes: string[] = [];
  for (const identity of policy.document.identities) {
    if (identity.match.spiffe === undefined) {
      notes.push(`identity ${identity.name} has no spiffe: match, so Istio's mTLS peer never selects it (signed headers and source CIDRs still do)`);
    }
  }
  return notes;
}

export function istioHeader(m: IstioManifests, opts: IstioOptions): string[] {
  return [
    'Tollgate as the ext_authz and ext_proc provider of the Istio egress gateway (generated by `tollgate provider istio`).',
    '',
    'Step 1: add this extension provider to the mesh config (IstioOperator / Helm values `meshConfig`, or the',
    '`mesh` key of the istio ConfigMap in istio-system), or run `tollgate provider istio --mesh-config | istioctl install -f -`:',
    ...stringify({ meshConfig: m.meshConfig }).trimEnd().split('\n').map((l) => `  ${l}`),
    '',
    'Step 2: kubectl apply -f this file.',
    'Identity: Istio SPIFFE IDs are spiffe://<trust domain>/ns/<namespace>/sa/<service account>; match them in the',
    'policy with spiffe: patterns, e.g. "spiffe://cluster.local/ns/billing/sa/*" (trust domain: meshConfig.trustDomain).',
    ...(opts.tls ? [`Tollgate's gRPC port speaks TLS: create Secret ${ISTIO_CLIENT_CREDENTIAL} (tls.crt, tls.key, ca.crt) in ${opts.namespace}.`] : []),
    ...m.notes.map((n) => `Note: ${n}`),
  ];
}

export function istioYaml(policy: CompiledPolicy, opts: IstioOptions): string {
  const m = istioManifests(policy, opts);
  return renderYaml(m.documents, istioHeader(m, opts));
}
