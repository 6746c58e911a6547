import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig, splitHostPort } from '../../src/config/config.js';
import { loadPolicyText } from '../../src/policy/load.js';
import { checkEnvoyYaml } from '../../src/proto/strict/index.js';
import { bootstrapYaml } from '../../src/xds/bootstrap.js';
import { tollgate } from './support/cli.js';
import { DEPLOY_DIR, renderKustomization, type Manifest, type Rendered } from './support/kustomize.js';
import { hasModel, modelProblems, unknownFieldProblems } from './support/models.js';

// Each `tollgate` run starts Node with tsx, and the type check compiles the models' declarations: seconds each on a busy machine.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const KUSTOMIZATIONS = ['base', 'overlays/own-gateway', 'overlays/istio', 'overlays/envoy-gateway', 'overlays/redis', 'workload-egress'];

const rendered = new Map<string, Rendered[]>();
for (const k of KUSTOMIZATIONS) rendered.set(k, renderKustomization(join(DEPLOY_DIR, k)));

function find(k: string, kind: string, name: string): Manifest {
  const found = rendered.get(k)!.find((r) => r.object.kind === kind && r.object.metadata.name === name);
  if (!found) throw new Error(`${k}: no ${kind} ${name}`);
  return found.object;
}

function container(deployment: Manifest, name: string): Manifest {
  return (deployment.spec.template.spec.containers as Manifest[]).find((c) => c.name === name)!;
}

function envValue(c: Manifest, name: string): string | undefined {
  return (c.env as Manifest[] | undefined)?.find((e) => e.name === name)?.value;
}

/** Every TOLLGATE_* name that appears in Tollgate's sources (the variables it reads). */
function envNamesInSources(dir = 'src'): Set<string> {
  const names = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    for (const m of readFileSync(join(entry.parentPath, entry.name), 'utf8').matchAll(/TOLLGATE_[A-Z0-9_]+/g)) names.add(m[0]);
  }
  return names;
}

/** `{ env: NAME }` secret references anywhere in a policy document. */
function policyEnvRefs(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => policyEnvRefs(v, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'env' && typeof v === 'string') out.add(v);
      else policyEnvRefs(v, out);
    }
  }
  return out;
}

describe('deploy/ manifests validate as the API server would', () => {
  let unknownFields: Map<string, Map<number, string[]>>;
  beforeAll(() => {
    unknownFields = new Map([...rendered].map(([k, objects]) => [k, unknownFieldProblems(objects.map((r) => r.object))]));
  });

  it.each(KUSTOMIZATIONS)('%s renders only objects that kubernetes-models knows and accepts', (k) => {
    const objects = rendered.get(k)!;
    expect(objects.length).toBeGreaterThan(0);
    const problems = objects.flatMap((r) => (hasModel(r.object) ? modelProblems(r.object) : [`no model for ${r.object.apiVersion} ${r.object.kind}`]).map((p) => `${r.source} ${r.object.kind}/${r.object.metadata.name}: ${p}`));
    expect(problems).toEqual([]);
  });

  it.each(KUSTOMIZATIONS)('%s has no field the API server would reject as unknown', (k) => {
    const objects = rendered.get(k)!;
    const problems = [...unknownFields.get(k)!].flatMap(([i, ps]) => ps.map((p) => `${objects[i]!.source} ${objects[i]!.object.kind}/${objects[i]!.object.metadata.name}: ${p}`));
    expect(problems).toEqual([]);
  });

  it('a Deployment with a misspelt field fails validation, naming the field', () => {
    const deployment = structuredClone(find('base', 'Deployment', 'tollgate'));
    const c = deployment.spec.template.spec.containers[0];
    c.readinesProbe = c.readinessProbe;
    delete c.readinessProbe;
    expect(modelProblems(deployment)).toEqual([]); // the models' schemas leave objects open
    const problems = unknownFieldProblems([deployment]).get(0) ?? [];
    expect(problems.join('\n')).toContain("'\"readinesProbe\"' does not exist in type 'IContainer'");
  });

  it('a wrong type or value fails the model validation', () => {
    const service = structuredClone(find('base', 'Service', 'tollgate'));
    service.spec.ports[0].port = 'seventy';
    expect(modelProblems(service).join('\n')).toMatch(/port/);
  });

  it('kustomizations name their namespace on every namespaced object', () => {
    for (const [k, objects] of rendered) {
      for (const { object } of objects) if (object.kind !== 'Namespace') expect(object.metadata.namespace, `${k} ${object.kind}/${object.metadata.name}`).toMatch(/^[a-z0-9-]+$/);
    }
  });
});

describe('deploy/ manifests agree with Tollgate', () => {
  const base = find('base', 'Deployment', 'tollgate');
  const tollgateContainer = container(base, 'tollgate');
  const service = find('base', 'Service', 'tollgate');
  const secret = find('base', 'Secret', 'tollgate-secrets');

  /** The container's environment as the kubelet would give it (secret references resolved from the placeholder Secret). */
  function environment(c: Manifest): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const e of c.env as Manifest[]) env[e.name] = e.value ?? secret.stringData[e.valueFrom.secretKeyRef.key];
    return env;
  }

  it('Tollgate accepts the Deployment environment, placeholders included, in every overlay', () => {
    for (const k of ['base', 'overlays/own-gateway', 'overlays/istio', 'overlays/envoy-gateway', 'overlays/redis']) {
      const config = loadConfig({}, environment(container(find(k, 'Deployment', 'tollgate'), 'tollgate')));
      expect(config.adminToken, k).toBeDefined();
      expect(config.dataDir).toBe('/data');
    }
  });

  it('every TOLLGATE_* variable the manifests set is one Tollgate reads or the policy references', () => {
    const known = envNamesInSources();
    const policy = parse(find('base', 'ConfigMap', 'tollgate-policy').data['policy.yaml']) as unknown;
    for (const name of policyEnvRefs(policy)) known.add(name);
    for (const k of KUSTOMIZATIONS) {
      for (const { object } of rendered.get(k)!) {
        for (const c of [...(object.spec?.template?.spec?.containers ?? []), ...(object.spec?.template?.spec?.initContainers ?? [])] as Manifest[]) {
          for (const e of (c.env ?? []) as Manifest[]) if (e.name.startsWith('TOLLGATE_')) expect(known.has(e.name), `${k} ${object.metadata.name}: ${e.name}`).toBe(true);
        }
      }
    }
  });

  it('the policy ConfigMap holds a valid policy whose secrets the Deployment provides, mounted as a directory', () => {
    const text = find('base', 'ConfigMap', 'tollgate-policy').data['policy.yaml'] as string;
    const loaded = loadPolicyText(text);
    expect(loaded.ok ? [] : loaded.problems).toEqual([]);
    const env = environment(tollgateContainer);
    for (const name of policyEnvRefs(parse(text))) expect(env[name], name).toBeTruthy();
    const policyPath = envValue(tollgateContainer, 'TOLLGATE_POLICY')!;
    const mount = (tollgateContainer.volumeMounts as Manifest[]).find((m) => m.name === 'policy')!;
    expect(mount.subPath).toBeUndefined(); // a subPath mount never sees the kubelet's ..data swap
    expect(policyPath).toBe(`${mount.mountPath}/policy.yaml`);
    const volume = (base.spec.template.spec.volumes as Manifest[]).find((v) => v.name === 'policy')!;
    expect(volume.configMap.name).toBe('tollgate-policy');
  });

  it('container ports, Service ports and probes match the addresses Tollgate listens on', () => {
    const ports = Object.fromEntries((tollgateContainer.ports as Manifest[]).map((p) => [p.name, p.containerPort]));
    expect(splitHostPort(envValue(tollgateContainer, 'TOLLGATE_GRPC_ADDRESS')!).port).toBe(ports.grpc);
    expect(splitHostPort(envValue(tollgateContainer, 'TOLLGATE_ADMIN_ADDRESS')!).port).toBe(ports.admin);
    expect(splitHostPort(envValue(tollgateContainer, 'TOLLGATE_METRICS_ADDRESS')!).port).toBe(ports.metrics);
    expect(tollgateContainer.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'admin' });
    expect(tollgateContainer.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'admin' });
    expect(tollgateContainer.startupProbe.grpc.port).toBe(ports.grpc);
    const routes = readFileSync('src/admin/routes/health.ts', 'utf8');
    expect(routes).toContain("app.get('/readyz'");
    expect(routes).toContain("app.get('/healthz'");
    expect(Object.fromEntries((service.spec.ports as Manifest[]).map((p) => [p.name, [p.port, p.targetPort]]))).toEqual({ grpc: [7070, 'grpc'], 'http-admin': [7071, 'admin'], 'http-metrics': [9464, 'metrics'] });
  });

  it('Services, the PodDisruptionBudget and the NetworkPolicy select the pods they are for', () => {
    for (const k of ['overlays/own-gateway', 'overlays/redis']) {
      for (const { object } of rendered.get(k)!) {
        const selector = object.kind === 'Service' ? object.spec.selector : object.kind === 'PodDisruptionBudget' || object.kind === 'NetworkPolicy' ? object.spec.selector?.matchLabels ?? object.spec.podSelector?.matchLabels : undefined;
        if (!selector) continue;
        const pods = rendered.get(k)!.filter((r) => r.object.kind === 'Deployment' && Object.entries(selector).every(([l, v]) => r.object.spec.template.metadata.labels[l] === v));
        expect(pods.length, `${k} ${object.kind}/${object.metadata.name}`).toBe(1);
        if (object.kind === 'Service') {
          const names = (pods[0]!.object.spec.template.spec.containers as Manifest[]).flatMap((c) => (c.ports as Manifest[]).map((p) => p.name));
          for (const p of object.spec.ports as Manifest[]) expect(names).toContain(p.targetPort);
        }
      }
    }
  });

  it('the pod runs non-root with a read-only root filesystem and writable /data and /tmp', () => {
    const pod = base.spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(tollgateContainer.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    const mounts = Object.fromEntries((tollgateContainer.volumeMounts as Manifest[]).map((m) => [m.mountPath, m.name]));
    expect(envValue(tollgateContainer, 'TOLLGATE_DATA_DIR')).toBe('/data');
    for (const path of ['/data', '/tmp']) expect((pod.volumes as Manifest[]).find((v) => v.name === mounts[path])?.emptyDir, path).toBeDefined();
    expect(tollgateContainer.resources.requests).toBeDefined();
    expect(tollgateContainer.resources.limits).toBeDefined();
  });

  it('every pod in tollgate-system meets the restricted Pod Security Standard the namespace enforces', () => {
    expect(find('base', 'Namespace', 'tollgate-system').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const k of ['overlays/own-gateway', 'overlays/istio', 'overlays/envoy-gateway', 'overlays/redis']) {
      for (const { object } of rendered.get(k)!.filter((r) => r.object.kind === 'Deployment')) {
        const pod = object.spec.template.spec;
        expect(pod.securityContext.seccompProfile.type, object.metadata.name).toBe('RuntimeDefault');
        for (const c of [...pod.containers, ...(pod.initContainers ?? [])] as Manifest[]) {
          const where = `${k} ${object.metadata.name}/${c.name}`;
          expect(c.securityContext?.runAsNonRoot ?? pod.securityContext.runAsNonRoot, where).toBe(true);
          expect(c.securityContext?.runAsUser ?? pod.securityContext.runAsUser, where).toBeGreaterThan(0);
          expect(c.securityContext, where).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
          expect(c.resources?.requests, where).toBeDefined();
          expect(c.resources?.limits, where).toBeDefined();
        }
        for (const v of pod.volumes as Manifest[]) expect(v.hostPath, `${object.metadata.name} ${v.name}`).toBeUndefined();
      }
    }
  });

  it("only the overlay's gateway pods may reach Tollgate's gRPC port", () => {
    const grpcFrom = (k: string) => (find(k, 'NetworkPolicy', 'tollgate-ingress').spec.ingress as Manifest[]).find((r) => r.ports.some((p: Manifest) => p.port === 7070))!.from;
    const envoy = find('overlays/own-gateway', 'Deployment', 'tollgate-gateway');
    const [own] = grpcFrom('overlays/own-gateway');
    expect(own.namespaceSelector).toBeUndefined(); // same namespace only
    for (const [l, v] of Object.entries(own.podSelector.matchLabels)) expect(envoy.spec.template.metadata.labels[l]).toBe(v);
    expect(grpcFrom('overlays/istio')).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'istio-system' } }, podSelector: { matchLabels: { istio: 'egressgateway' } } }]);
    expect(grpcFrom('overlays/envoy-gateway')[0].podSelector.matchLabels).toEqual({ 'gateway.envoyproxy.io/owning-gateway-name': 'tollgate-egress' });
  });

  it('the workload egress policy allows pods and cluster DNS only', () => {
    const policy = find('workload-egress', 'NetworkPolicy', 'egress-via-gateway');
    expect(policy.spec.podSelector).toEqual({});
    expect(policy.spec.policyTypes).toEqual(['Egress']);
    for (const rule of policy.spec.egress as Manifest[]) for (const to of rule.to as Manifest[]) expect(to.ipBlock).toBeUndefined();
  });

  it('provider overlays turn xDS off and serve gRPC over TLS from a mounted Secret directory', () => {
    for (const k of ['overlays/istio', 'overlays/envoy-gateway']) {
      const d = find(k, 'Deployment', 'tollgate');
      const c = container(d, 'tollgate');
      expect(envValue(c, 'TOLLGATE_XDS')).toBe('off');
      const mount = (c.volumeMounts as Manifest[]).find((m) => m.name === 'grpc-tls')!;
      expect(mount.subPath).toBeUndefined();
      for (const name of ['TOLLGATE_GRPC_TLS_CERT', 'TOLLGATE_GRPC_TLS_KEY', 'TOLLGATE_GRPC_CLIENT_CA']) expect(envValue(c, name)!.startsWith(`${mount.mountPath}/`)).toBe(true);
      expect(c.startupProbe.grpc).toBeUndefined(); // the kubelet's gRPC probe cannot speak TLS
      expect(c.startupProbe.httpGet.path).toBe('/healthz');
    }
    expect(envValue(container(find('overlays/own-gateway', 'Deployment', 'tollgate'), 'tollgate'), 'TOLLGATE_XDS')).toBeUndefined();
  });
});

describe("the own-gateway overlay's Envoy", () => {
  const envoy = find('overlays/own-gateway', 'Deployment', 'tollgate-gateway');
  const init = (envoy.spec.template.spec.initContainers as Manifest[]).find((c) => c.name === 'bootstrap')!;
  const script = init.command[2] as string;
  const match = /^exec node bin\/tollgate\.js (bootstrap .*) > (\S+)$/.exec(script);

  it('gets its bootstrap from `tollgate bootstrap`, equal to bootstrapYaml for the Tollgate Service address', async () => {
    expect(match).not.toBeNull();
    const podName = 'tollgate-gateway-7d9f-abcde';
    const args = match![1]!.split(/\s+/).map((a) => (a === '"$POD_NAME"' ? podName : a));
    const token = 'envoy-token-for-the-test-0123456789';
    const out = await tollgate(args, { ...process.env, TOLLGATE_ENVOY_TOKEN: token });
    expect(out.stderr).toBe('');
    const svc = find('overlays/own-gateway', 'Service', 'tollgate');
    const grpcPort = (svc.spec.ports as Manifest[]).find((p) => p.name === 'grpc')!.port;
    const xdsAddress = `${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local:${grpcPort}`;
    expect(out.stdout).toBe(bootstrapYaml({ nodeId: podName, nodeCluster: 'egress-gateway', xdsAddress, adminPort: 9901, envoyToken: token }));
    expect(checkEnvoyYaml(out.stdout)).toEqual([]);
    expect(envValue(container(find('overlays/own-gateway', 'Deployment', 'tollgate'), 'tollgate'), 'TOLLGATE_XDS_TOLLGATE_ADDRESS')).toBe(xdsAddress);
  });

  it('reads the bootstrap from the volume the init container writes, with the token from the Secret', () => {
    const file = match![2]!;
    const envoyContainer = container(envoy, 'envoy');
    expect(envoyContainer.command).toContain(file);
    const initMount = (init.volumeMounts as Manifest[]).find((m) => file.startsWith(`${m.mountPath}/`))!;
    const envoyMount = (envoyContainer.volumeMounts as Manifest[]).find((m) => file.startsWith(`${m.mountPath}/`))!;
    expect(envoyMount.name).toBe(initMount.name);
    expect((init.env as Manifest[]).find((e) => e.name === 'TOLLGATE_ENVOY_TOKEN')!.valueFrom.secretKeyRef).toEqual({ name: 'tollgate-secrets', key: 'TOLLGATE_ENVOY_TOKEN' });
    const egressPort = Number(envValue(container(find('overlays/own-gateway', 'Deployment', 'tollgate'), 'tollgate'), 'TOLLGATE_EGRESS_PORT'));
    expect((envoyContainer.ports as Manifest[])[0]!.containerPort).toBe(egressPort);
  });
});
