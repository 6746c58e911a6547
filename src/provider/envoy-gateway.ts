import { EXT_AUTHZ_NAMESPACE } from '../authz/check-response.js';
import type { CompiledPolicy } from '../policy/compile.js';
import {
  EXT_AUTHZ_TIMEOUT_MS,
  EXT_PROC_MESSAGE_TIMEOUT_MS,
  EXT_PROC_REQUEST_ATTRIBUTES,
  millis,
  policyDestinations,
  renderYaml,
  serviceHostPort,
  type Manifest,
  type ProviderOptions,
} from './common.js';

export const EG_GATEWAY_NAME = 'tollgate-egress';
export const EG_TOLLGATE_BACKEND = 'tollgate';
/** Secret and ConfigMap (in the Gateway's namespace) for TLS toward Tollgate's gRPC port. */
export const EG_CLIENT_CERTIFICATE = 'tollgate-grpc-client';
export const EG_TOLLGATE_CA = 'tollgate-grpc-ca';

export interface EnvoyGatewayOptions extends ProviderOptions {
  gatewayClassName: string;
}

export interface EnvoyGatewayManifests {
  documents: Manifest[];
  notes: string[];
}

const GATEWAY_API = 'gateway.networking.k8s.io';
const EG_API = 'gateway.envoyproxy.io';

/**
 * Tollgate as the ext_authz (SecurityPolicy extAuth.grpc) and ext_proc (EnvoyExtensionPolicy extProc) of an Envoy
 * Gateway `Gateway` used for egress, with one HTTPRoute and TLS-originating Backend per exact destination.
 */
export function envoyGatewayManifests(policy: CompiledPolicy, opts: EnvoyGatewayOptions): EnvoyGatewayManifests {
  const { host: tollgateHost, port: tollgatePort } = serviceHostPort(opts.service);
  const ns = opts.namespace;
  const destinations = policyDestinations(policy);
  const meta = (name: string) => ({ name, namespace: ns, labels: { 'app.kubernetes.io/managed-by': 'tollgate' } });
  const tollgateRef = { group: EG_API, kind: 'Backend', name: EG_TOLLGATE_BACKEND, port: tollgatePort };
  const gatewayTarget = [{ group: GATEWAY_API, kind: 'Gateway', name: EG_GATEWAY_NAME }];

  const documents: Manifest[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'app.kubernetes.io/managed-by': 'tollgate' } } },
    {
      apiVersion: `${EG_API}/v1alpha1`,
      kind: 'Backend',
      metadata: meta(EG_TOLLGATE_BACKEND),
      spec: {
        endpoints: [{ fqdn: { hostname: tollgateHost, port: tollgatePort } }],
        ...(opts.tls
          ? { tls: { sni: tollgateHost, caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: EG_TOLLGATE_CA }], clientCertificateRef: { group: '', kind: 'Secret', name: EG_CLIENT_CERTIFICATE } } }
          : { appProtocols: ['gateway.envoyproxy.io/h2c'] }),
      },
    },
    {
      apiVersion: `${GATEWAY_API}/v1`,
      kind: 'Gateway',
      metadata: meta(EG_GATEWAY_NAME),
      spec: {
        gatewayClassName: opts.gatewayClassName,
        listeners: [{ name: 'http', protocol: 'HTTP', port: 80, allowedRoutes: { namespaces: { from: 'Same' } } }],
      },
    },
    {
      apiVersion: `${EG_API}/v1alpha1`,
      kind: 'SecurityPolicy',
      metadata: meta('tollgate-ext-authz'),
      spec: {
        targetRefs: gatewayTarget,
        extAuth: { grpc: { backendRefs: [tollgateRef] }, failOpen: false, timeout: millis(EXT_AUTHZ_TIMEOUT_MS) },
      },
    },
    {
      apiVersion: `${EG_API}/v1alpha1`,
      kind: 'EnvoyExtensionPolicy',
      metadata: meta('tollgate-ext-proc'),
      spec: {
        targetRefs: gatewayTarget,
        // Envoy Gateway orders ext_authz before ext_proc (internal/xds/translator/httpfilters.go `newOrderedHTTPFilter`).
        extProc: [
          {
            backendRefs: [tollgateRef],
            failOpen: false,
            messageTimeout: millis(EXT_PROC_MESSAGE_TIMEOUT_MS),
            // `request` present: request headers SEND, body NONE; no `response`: response headers SKIP.
            processingMode: { request: { attributes: EXT_PROC_REQUEST_ATTRIBUTES }, allowModeOverride: true },
            // ext_authz's decision metadata (ext_authz.cc `Filter::onComplete`) forwarded to ext_proc.
            metadata: { accessibleNamespaces: [EXT_AUTHZ_NAMESPACE] },
          },
        ],
      },
    },
  ];

  for (const d of destinations.list) {
    documents.push({
      apiVersion: `${EG_API}/v1alpha1`,
      kind: 'Backend',
      metadata: meta(`dest-${d.slug}`),
      spec: {
        endpoints: [{ fqdn: { hostname: d.host, port: d.port } }],
        // The gateway originates TLS, verifying the destination against the system CAs with SNI = host.
        ...(d.tls ? { tls: { sni: d.host, wellKnownCACertificates: 'System' } } : {}),
      },
    });
    documents.push({
      apiVersion: `${GATEWAY_API}/v1`,
      kind: 'HTTPRoute',
      metadata: meta(`tollgate-${d.slug}`),
      spec: {
        parentRefs: [{ name: EG_GATEWAY_NAME }],
        hostnames: [d.host],
        rules: [{ backendRefs: [{ group: EG_API, kind: 'Backend', name: `dest-${d.slug}`, port: d.port }] }],
      },
    });
  }

  const notes = [
    ...destinations.skipped.map((s) => `not routed: ${s}`),
    'identity: this Gateway listener is plain HTTP, so Envoy sees no client certificate; identities come from signed headers and source CIDRs, or add an HTTPS listener with a ClientTrafficPolicy tls.clientValidation for mTLS (spiffe: matches).',
  ];
  return { documents, notes };
}

export function envoyGatewayHeader(m: EnvoyGatewayManifests, opts: EnvoyGatewayOptions): string[] {
  return [
    'Tollgate as the ext_authz and ext_proc provider of an Envoy Gateway egress Gateway (generated by `tollgate provider envoy-gateway`).',
    '',
    'Needs the Backend API enabled in the EnvoyGateway config (extensionApis.enableBackend: true) and a GatewayClass',
    `named ${opts.gatewayClassName}. Then kubectl apply -f this file; workloads use the Gateway's Service as their HTTP proxy:`,
    `  kubectl get svc -n envoy-gateway-system -l gateway.envoyproxy.io/owning-gateway-name=${EG_GATEWAY_NAME}`,
    ...(opts.tls
      ? [`Tollgate's gRPC port speaks TLS: create Secret ${EG_CLIENT_CERTIFICATE} (tls.crt, tls.key) and ConfigMap ${EG_TOLLGATE_CA} (ca.crt) in ${opts.namespace}.`]
      : []),
    ...m.notes.map((n) => `Note: ${n}`),
  ];
}

export function envoyGatewayYaml(policy: CompiledPolicy, opts: EnvoyGatewayOptions): string {
  const m = envoyGatewayManifests(policy, opts);
  return renderYaml(m.documents, envoyGatewayHeader(m, opts));
}
