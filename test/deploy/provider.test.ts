import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildPolicy } from '../../src/engine/policy-version.js';
import { loadPolicyText } from '../../src/policy/load.js';
import { checkMessage } from '../../src/proto/strict/index.js';
import { TOLLGATE_SERVICE_DEFAULT } from '../../src/provider/common.js';
import { envoyGatewayManifests } from '../../src/provider/envoy-gateway.js';
import { istioManifests } from '../../src/provider/istio.js';
import { tollgate } from './support/cli.js';
import { DEPLOY_DIR, readYamlDocuments, renderKustomization, type Manifest } from './support/kustomize.js';
import { hasModel, modelProblems, unknownFieldProblems } from './support/models.js';
import { crdProblems, hasCrdSchema } from './support/schemas.js';

// Each `tollgate` run starts Node with tsx, and the type check compiles the models' declarations: seconds each on a busy machine.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const dir = mkdtempSync(join(tmpdir(), 'tollgate-provider-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SERVICE = 'tollgate.tollgate-system.svc.cluster.local:7070';

/** The deploy/ base policy plus rules a static manifest cannot express and an http destination. */
const basePolicy = readYamlDocuments(join(DEPLOY_DIR, 'base/configmap-policy.yaml'))[0]!.data['policy.yaml'] as string;
const policyFile = join(dir, 'policy.yaml');
const policyDocument = parse(basePolicy) as Manifest;
policyDocument.egress.push({
  identity: '*',
  allow: [
    { id: 'github', host: '*.github.com' },
    { id: 'status', host: 'status.example.com', scheme: 'http' },
    { id: 'uploads', host: 'uploads.example.com', port: 8443 },
    { id: 'anyport', host: 'any.example.com', port: '*' },
  ],
});
writeFileSync(policyFile, stringify(policyDocument));

function loadedPolicy() {
  const loaded = loadPolicyText(stringify(policyDocument));
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.policy;
}

function documents(text: string): Manifest[] {
  return parseAllDocuments(text).map((d) => d.toJS() as Manifest);
}

/** Every validation that applies to an object: its kubernetes-models model and its CRD schema (closed objects). */
function problems(objects: readonly Manifest[]): string[] {
  const unknown = unknownFieldProblems(objects);
  return objects.flatMap((o, i) => {
    const name = `${o.kind}/${o.metadata?.name}`;
    const found = [...(hasModel(o) ? modelProblems(o) : []), ...(hasCrdSchema(o) ? crdProblems(o) : []), ...(unknown.get(i) ?? [])];
    if (!hasModel(o) && !hasCrdSchema(o)) found.push(`nothing validates ${o.apiVersion} ${o.kind}`);
    return found.map((p) => `${name}: ${p}`);
  });
}

const byKind = (objects: Manifest[], kind: string) => objects.filter((o) => o.kind === kind);

describe('tollgate provider istio', () => {
  let out: { code: number; stdout: string; stderr: string };
  let objects: Manifest[];
  beforeAll(async () => {
    out = await tollgate(['provider', 'istio', '--policy', policyFile]);
    objects = documents(out.stdout);
  });

  it('prints manifests that pass the Istio models, the Istio CRD schemas and the unknown-field check', () => {
    expect(out.code).toBe(0);
    expect(out.stderr).toBe('');
    expect(objects.map((o) => o.kind).sort()).toEqual(['AuthorizationPolicy', 'DestinationRule', 'DestinationRule', 'DestinationRule', 'EnvoyFilter', 'Gateway', 'ServiceEntry', 'ServiceEntry', 'ServiceEntry', 'VirtualService', 'VirtualService', 'VirtualService'].sort());
    for (const o of objects) expect(hasCrdSchema(o), `${o.kind}`).toBe(true);
    expect(problems(objects)).toEqual([]);
  });

  it('the --tls variant validates too and points the gateway at Tollgate with a client certificate', () => {
    const tls = istioManifests(loadedPolicy(), { service: SERVICE, namespace: 'istio-system', tls: true, egressGatewayService: 'istio-egressgateway.istio-system.svc.cluster.local' }).documents as Manifest[];
    expect(problems(tls)).toEqual([]);
    const rule = tls.find((o) => o.kind === 'DestinationRule' && o.spec.host === 'tollgate.tollgate-system.svc.cluster.local')!;
    expect(rule.spec.trafficPolicy.tls).toMatchObject({ mode: 'MUTUAL', credentialName: 'tollgate-grpc-client' });
    expect(rule.spec.exportTo).toEqual(['.']);
  });

  it('the header carries the MeshConfig extension provider, the same one --mesh-config prints as a valid IstioOperator', async () => {
    const snippet = out.stdout.split('\n').filter((l) => l.startsWith('#   ')).map((l) => l.slice(4)).join('\n');
    const operator = parse((await tollgate(['provider', 'istio', '--mesh-config'])).stdout) as Manifest;
    expect(parse(snippet)).toEqual({ meshConfig: operator.spec.meshConfig });
    expect(problems([operator])).toEqual([]);
    // No schema of MeshConfig ships with the models: the field names are those of istio/api mesh/v1alpha1/config.proto
    // `ExtensionProvider` and `EnvoyExternalAuthorizationGrpcProvider` (service, port, timeout, fail_open, status_on_error, include_request_body_in_check).
    const [provider] = operator.spec.meshConfig.extensionProviders;
    expect(Object.keys(provider).filter((k) => !['name', 'envoyExtAuthzGrpc'].includes(k))).toEqual([]);
    expect(Object.keys(provider.envoyExtAuthzGrpc).filter((k) => !['service', 'port', 'timeout', 'failOpen', 'statusOnError', 'includeRequestBodyInCheck'].includes(k))).toEqual([]);
    expect(provider).toEqual({
      name: 'tollgate',
      envoyExtAuthzGrpc: { service: 'tollgate.tollgate-system.svc.cluster.local', port: 7070, timeout: '0.25s', failOpen: false, statusOnError: '403' },
    });
  });

  it('sends every request through the egress gateway to Tollgate (AuthorizationPolicy CUSTOM)', () => {
    const [policy] = byKind(objects, 'AuthorizationPolicy');
    expect(policy!.spec).toEqual({ selector: { matchLabels: { istio: 'egressgateway' } }, action: 'CUSTOM', provider: { name: 'tollgate' }, rules: [{}] });
  });

  it('inserts ext_proc after ext_authz with the processing mode, forwarded ext_authz metadata and peer attributes Tollgate reads', () => {
    const [filter] = byKind(objects, 'EnvoyFilter');
    const [patch] = filter!.spec.configPatches;
    expect(patch.match.listener.filterChain.filter.subFilter.name).toBe('envoy.filters.http.ext_authz');
    expect(patch.patch.operation).toBe('INSERT_AFTER');
    const config = patch.patch.value.typed_config;
    expect(config.processing_mode).toEqual({ request_header_mode: 'SEND', response_header_mode: 'SKIP', request_body_mode: 'NONE', response_body_mode: 'NONE', request_trailer_mode: 'SKIP', response_trailer_mode: 'SKIP' });
    expect(config.allow_mode_override).toBe(true);
    expect(config.failure_mode_allow).toBe(false);
    expect(config.metadata_options).toEqual({ forwarding_namespaces: { untyped: ['envoy.filters.http.ext_authz'] } });
    expect(config.request_attributes).toEqual(['connection.uri_san_peer_certificate', 'source.address']);
    expect(config.grpc_service.envoy_grpc.cluster_name).toBe('outbound|7070||tollgate.tollgate-system.svc.cluster.local');
  });

  it("the EnvoyFilter's filter passes the strict check against Envoy's protos", () => {
    const value = byKind(objects, 'EnvoyFilter')[0]!.spec.configPatches[0].patch.value;
    expect(checkMessage('envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter', value)).toEqual([]);
    const typo = structuredClone(value);
    typo.typed_config.procesing_mode = typo.typed_config.processing_mode;
    expect(checkMessage('envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter', typo).map((p) => p.path).join()).toContain('procesing_mode');
  });

  it('routes each exact destination through the gateway and originates TLS there with SNI = host; wildcards and any-port rules are named', () => {
    const entries = byKind(objects, 'ServiceEntry').map((o) => o.spec.hosts[0]).sort();
    expect(entries).toEqual(['api.stripe.com', 'status.example.com', 'uploads.example.com']);
    const origin = byKind(objects, 'DestinationRule').filter((o) => o.spec.host !== 'istio-egressgateway.istio-system.svc.cluster.local');
    expect(origin.map((o) => [o.spec.host, o.spec.trafficPolicy.portLevelSettings[0].port.number, o.spec.trafficPolicy.portLevelSettings[0].tls])).toEqual([
      ['api.stripe.com', 443, { mode: 'SIMPLE', sni: 'api.stripe.com', subjectAltNames: ['api.stripe.com'] }],
      ['uploads.example.com', 8443, { mode: 'SIMPLE', sni: 'uploads.example.com', subjectAltNames: ['uploads.example.com'] }],
    ]);
    const [gateway] = byKind(objects, 'Gateway');
    expect(gateway!.spec.servers[0].tls).toEqual({ mode: 'ISTIO_MUTUAL' }); // the gateway sees the workload's SPIFFE ID
    expect(out.stdout).toContain('# Note: not routed: github: wildcard host *.github.com');
    expect(out.stdout).toContain('# Note: not routed: anyport: any port on any.example.com');
  });

  it('a misspelt field in an Istio object fails the CRD schema, naming the field', () => {
    const policy = structuredClone(byKind(objects, 'AuthorizationPolicy')[0]!);
    policy.spec.acton = policy.spec.action;
    delete policy.spec.action;
    expect(crdProblems(policy)).toContain('/spec: must NOT have additional properties "acton"');
    const entry = structuredClone(byKind(objects, 'ServiceEntry')[0]!);
    entry.spec.resolution = 'DSN';
    expect(crdProblems(entry).join('\n')).toMatch(/\/spec\/resolution: must be equal to one of the allowed values/);
  });
});

describe('tollgate provider envoy-gateway', () => {
  let out: { code: number; stdout: string; stderr: string };
  let objects: Manifest[];
  beforeAll(async () => {
    out = await tollgate(['provider', 'envoy-gateway', '--policy', policyFile]);
    objects = documents(out.stdout);
  });

  it('prints manifests that pass the Envoy Gateway CRD schemas, the Gateway API models and the unknown-field check', () => {
    expect(out.code).toBe(0);
    expect(out.stderr).toBe('');
    expect(objects.map((o) => o.kind).sort()).toEqual(['Backend', 'Backend', 'Backend', 'Backend', 'EnvoyExtensionPolicy', 'Gateway', 'HTTPRoute', 'HTTPRoute', 'HTTPRoute', 'Namespace', 'SecurityPolicy'].sort());
    expect(problems(objects)).toEqual([]);
  });

  it('the --tls variant validates too: the Tollgate Backend presents a client certificate and verifies Tollgate', () => {
    const tls = envoyGatewayManifests(loadedPolicy(), { service: SERVICE, namespace: 'egress', tls: true, gatewayClassName: 'eg' }).documents as Manifest[];
    expect(problems(tls)).toEqual([]);
    const backend = tls.find((o) => o.kind === 'Backend' && o.metadata.name === 'tollgate')!;
    expect(backend.spec.tls).toEqual({ sni: 'tollgate.tollgate-system.svc.cluster.local', caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'tollgate-grpc-ca' }], clientCertificateRef: { group: '', kind: 'Secret', name: 'tollgate-grpc-client' } });
  });

  it('attaches ext_authz and ext_proc to the egress Gateway, both reaching Tollgate through the Backend', () => {
    const gateway = byKind(objects, 'Gateway')[0]!;
    const backend = objects.find((o) => o.kind === 'Backend' && o.metadata.name === 'tollgate')!;
    expect(backend.spec.endpoints).toEqual([{ fqdn: { hostname: 'tollgate.tollgate-system.svc.cluster.local', port: 7070 } }]);
    const ref = { group: 'gateway.envoyproxy.io', kind: 'Backend', name: 'tollgate', port: 7070 };
    const target = [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: gateway.metadata.name }];
    const security = byKind(objects, 'SecurityPolicy')[0]!;
    expect(security.spec).toEqual({ targetRefs: target, extAuth: { grpc: { backendRefs: [ref] }, failOpen: false, timeout: '250ms' } });
    const extension = byKind(objects, 'EnvoyExtensionPolicy')[0]!;
    expect(extension.spec.targetRefs).toEqual(target);
    expect(extension.spec.extProc).toEqual([
      {
        backendRefs: [ref],
        failOpen: false,
        messageTimeout: '200ms',
        processingMode: { request: { attributes: ['connection.uri_san_peer_certificate', 'source.address'] }, allowModeOverride: true },
        metadata: { accessibleNamespaces: ['envoy.filters.http.ext_authz'] },
      },
    ]);
    for (const o of objects) if (o.kind !== 'Namespace') expect(o.metadata.namespace).toBe(gateway.metadata.namespace);
  });

  it('routes each exact destination to a Backend that originates TLS with SNI = host', () => {
    const routes = byKind(objects, 'HTTPRoute');
    expect(routes.map((r) => r.spec.hostnames[0]).sort()).toEqual(['api.stripe.com', 'status.example.com', 'uploads.example.com']);
    for (const route of routes) {
      const [backendRef] = route.spec.rules[0].backendRefs;
      const backend = objects.find((o) => o.kind === 'Backend' && o.metadata.name === backendRef.name)!;
      const host = route.spec.hostnames[0];
      expect(backend.spec.endpoints[0].fqdn).toEqual({ hostname: host, port: backendRef.port });
      expect(backend.spec.tls).toEqual(host === 'status.example.com' ? undefined : { sni: host, wellKnownCACertificates: 'System' });
      expect(route.spec.parentRefs).toEqual([{ name: byKind(objects, 'Gateway')[0]!.metadata.name }]);
    }
  });

  it('a misspelt field in an Envoy Gateway object fails the CRD schema, naming the field', () => {
    const security = structuredClone(byKind(objects, 'SecurityPolicy')[0]!);
    security.spec.extAuth.grcp = security.spec.extAuth.grpc;
    delete security.spec.extAuth.grpc;
    expect(crdProblems(security)).toContain('/spec/extAuth: must NOT have additional properties "grcp"');
    const extension = structuredClone(byKind(objects, 'EnvoyExtensionPolicy')[0]!);
    extension.spec.extProc[0].processingMode.request.body = 'Bufferd';
    expect(crdProblems(extension).join('\n')).toMatch(/\/spec\/extProc\/0\/processingMode\/request\/body: must be equal to one of the allowed values/);
    // The CRDs' CEL rules run too, on the defaulted object: a Service backend needs a port, a policy a Gateway API target.
    const portless = structuredClone(byKind(objects, 'SecurityPolicy')[0]!);
    portless.spec.extAuth.grpc.backendRefs = [{ name: 'tollgate' }];
    expect(crdProblems(portless).join('\n')).toContain('Must have port for Service reference');
    const wrongTarget = structuredClone(byKind(objects, 'EnvoyExtensionPolicy')[0]!);
    wrongTarget.spec.targetRefs = [{ group: '', kind: 'Service', name: 'tollgate' }];
    expect(crdProblems(wrongTarget).join('\n')).toMatch(/targetRefs\[\*\]\.group of gateway\.networking\.k8s\.io/);
    const route = structuredClone(byKind(objects, 'HTTPRoute')[0]!);
    route.spec.hostname = route.spec.hostnames;
    expect(unknownFieldProblems([route]).get(0)?.join('\n')).toContain('hostname');
  });
});

describe('the trust-domain mapping the README documents', () => {
  it("an Istio workload's SPIFFE ID selects the identity whose spiffe: pattern names its namespace", async () => {
    const file = join(dir, 'configmap-policy.yaml');
    writeFileSync(file, basePolicy);
    const secret = readYamlDocuments(join(DEPLOY_DIR, 'base/secret.yaml'))[0]!.stringData as Record<string, string>;
    const out = await tollgate(['decide', '--policy', file, '--principal', 'spiffe://cluster.local/ns/billing/sa/web', '--host', 'api.stripe.com', '--method', 'POST', '--path', '/v1/charges/ch_1', '--json'], { ...process.env, ...secret });
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toMatchObject({ identity: 'billing', verdict: 'allow' });
    Object.assign(process.env, secret);
    const built = buildPolicy(basePolicy);
    if (!built.ok) throw new Error(JSON.stringify(built.problems));
    const resolve = async (principal: string) => (await built.build.identities.resolve({ principal })).name;
    expect(await resolve('spiffe://cluster.local/ns/billing/sa/batch')).toBe('billing');
    expect(await resolve('spiffe://cluster.local/ns/marketing/sa/web')).toBe('unknown');
    expect(await resolve('spiffe://other.example/ns/billing/sa/web')).toBe('unknown'); // another trust domain is another pattern
  });
});

describe('provider manifests and the deploy/ overlays agree', () => {
  const overlayGrpcFrom = (overlay: string) => {
    const rendered = renderKustomization(join(DEPLOY_DIR, overlay));
    const policy = rendered.find((r) => r.object.kind === 'NetworkPolicy' && r.object.metadata.name === 'tollgate-ingress')!.object;
    return { rendered, from: (policy.spec.ingress as Manifest[]).find((r) => r.ports.some((p: Manifest) => p.port === 7070))!.from[0] };
  };

  it("the default --service is the deploy/ Service's DNS name and gRPC port", () => {
    const service = renderKustomization(join(DEPLOY_DIR, 'base')).find((r) => r.object.kind === 'Service' && r.object.metadata.name === 'tollgate')!.object;
    const grpc = (service.spec.ports as Manifest[]).find((p) => p.name === 'grpc')!;
    expect(TOLLGATE_SERVICE_DEFAULT).toBe(`${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local:${grpc.port}`);
  });

  it("the istio overlay admits exactly the gateway pods the AuthorizationPolicy and EnvoyFilter select", () => {
    const { from } = overlayGrpcFrom('overlays/istio');
    const istio = istioManifests(loadedPolicy(), { service: SERVICE, namespace: 'istio-system', tls: true, egressGatewayService: 'istio-egressgateway.istio-system.svc.cluster.local' });
    const policy = istio.documents.find((d) => d.kind === 'AuthorizationPolicy') as Manifest;
    expect(from.podSelector.matchLabels).toEqual(policy.spec.selector.matchLabels);
    expect(from.namespaceSelector.matchLabels['kubernetes.io/metadata.name']).toBe(policy.metadata.namespace);
  });

  it('the envoy-gateway overlay admits the Envoy pods of the Gateway the policies attach to', () => {
    const { from } = overlayGrpcFrom('overlays/envoy-gateway');
    const eg = envoyGatewayManifests(loadedPolicy(), { service: SERVICE, namespace: 'egress', tls: true, gatewayClassName: 'eg' });
    const gateway = eg.documents.find((d) => d.kind === 'Gateway') as Manifest;
    expect(from.podSelector.matchLabels).toEqual({ 'gateway.envoyproxy.io/owning-gateway-name': gateway.metadata.name });
  });

  it('--tls matches the overlays: Tollgate requires a client certificate there', () => {
    for (const overlay of ['overlays/istio', 'overlays/envoy-gateway']) {
      const { rendered } = overlayGrpcFrom(overlay);
      const tollgateContainer = rendered.find((r) => r.object.kind === 'Deployment' && r.object.metadata.name === 'tollgate')!.object.spec.template.spec.containers[0];
      expect((tollgateContainer.env as Manifest[]).map((e) => e.name)).toContain('TOLLGATE_GRPC_CLIENT_CA');
    }
  });
});

describe('tollgate provider on bad input', () => {
  it('a service that is not host:port is refused with the expected form', async () => {
    const out = await tollgate(['provider', 'istio', '--policy', policyFile, '--service', 'tollgate']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--service must be host:port');
    expect(out.stdout).toBe('');
  });

  it('an invalid policy prints every problem with its path and exits 1', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'version: 1\negress:\n  - identity: "*"\n    allow:\n      - host: "api.*.com"\n');
    const out = await tollgate(['provider', 'envoy-gateway', '--policy', bad]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('egress[0].allow[0].host');
    expect(out.stdout).toBe('');
  });

  it('no policy and an unknown provider exit 2 with the usage', async () => {
    const env = { ...process.env };
    delete env.TOLLGATE_POLICY;
    expect((await tollgate(['provider', 'istio'], env)).stderr).toContain('--policy FILE');
    const unknown = await tollgate(['provider', 'linkerd', '--policy', policyFile]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('istio|envoy-gateway');
  });
});

describe('providers as functions', () => {
  it('a policy with no exact destination still gets its ext_authz and ext_proc objects', () => {
    const loaded = loadPolicyText('version: 1\negress:\n  - identity: "*"\n    allow:\n      - host: "*.example.com"\n');
    if (!loaded.ok) throw new Error('policy');
    const istio = istioManifests(loaded.policy, { service: SERVICE, namespace: 'istio-system', tls: false, egressGatewayService: 'istio-egressgateway.istio-system.svc.cluster.local' });
    expect(istio.documents.map((d) => d.kind)).toEqual(['AuthorizationPolicy', 'EnvoyFilter']);
    const eg = envoyGatewayManifests(loaded.policy, { service: SERVICE, namespace: 'egress', tls: false, gatewayClassName: 'eg' });
    expect(eg.documents.map((d) => d.kind)).toEqual(['Namespace', 'Backend', 'Gateway', 'SecurityPolicy', 'EnvoyExtensionPolicy']);
    expect(problems([...istio.documents, ...eg.documents])).toEqual([]);
  });
});

describe('CRD schemas applied as the API server applies them', () => {
  it('int-or-string takes both, nullable takes null, preserve-unknown-fields stays open and every other object is closed', async () => {
    const { structuralToJsonSchema } = await import('./support/schemas.js');
    const { Ajv } = await import('ajv');
    const validate = new Ajv({ strict: false }).compile(
      structuralToJsonSchema({
        type: 'object',
        properties: {
          spec: {
            type: 'object',
            properties: {
              port: { 'x-kubernetes-int-or-string': true },
              note: { type: 'string', nullable: true },
              free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      }),
    );
    const ok = (spec: unknown) => validate({ apiVersion: 'example.io/v1', kind: 'Thing', metadata: { name: 'a' }, spec });
    expect(ok({ port: 8080, note: null, free: { anything: 1 } })).toBe(true);
    expect(ok({ port: 'http' })).toBe(true);
    expect(ok({ port: true })).toBe(false);
    expect(ok({ prot: 8080 })).toBe(false);
  });
});
