import { dirname, join } from 'node:path';
import ts from 'typescript';
import { Namespace, ServiceAccount, ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { Gateway as GatewayApiGateway, HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1';
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1';
import { EnvoyFilter } from '@kubernetes-models/istio/networking.istio.io/v1alpha3';
import { DestinationRule, Gateway as IstioGateway, ServiceEntry, VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import { IstioOperator } from '@kubernetes-models/istio/install.istio.io/v1alpha1';
import { DEPLOY_DIR, type Manifest } from './kustomize.js';

interface ModelClass {
  new (data: never): { validate(): void };
}

/** The model and its TypeScript interface (module, name) for each apiVersion/kind the manifests use. */
const MODELS: Record<string, { model: ModelClass; module: string; type: string; typed?: false }> = {
  'v1/Namespace': { model: Namespace, module: 'kubernetes-models/v1/Namespace', type: 'INamespace' },
  'v1/ServiceAccount': { model: ServiceAccount, module: 'kubernetes-models/v1/ServiceAccount', type: 'IServiceAccount' },
  'v1/ConfigMap': { model: ConfigMap, module: 'kubernetes-models/v1/ConfigMap', type: 'IConfigMap' },
  'v1/Secret': { model: Secret, module: 'kubernetes-models/v1/Secret', type: 'ISecret' },
  'v1/Service': { model: Service, module: 'kubernetes-models/v1/Service', type: 'IService' },
  'apps/v1/Deployment': { model: Deployment, module: 'kubernetes-models/apps/v1/Deployment', type: 'IDeployment' },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget, module: 'kubernetes-models/policy/v1/PodDisruptionBudget', type: 'IPodDisruptionBudget' },
  'networking.k8s.io/v1/NetworkPolicy': { model: NetworkPolicy, module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy', type: 'INetworkPolicy' },
  'gateway.networking.k8s.io/v1/Gateway': { model: GatewayApiGateway, module: '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway', type: 'IGateway' },
  'gateway.networking.k8s.io/v1/HTTPRoute': { model: HTTPRoute, module: '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute', type: 'IHTTPRoute' },
  'security.istio.io/v1/AuthorizationPolicy': { model: AuthorizationPolicy, module: '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy', type: 'IAuthorizationPolicy' },
  'networking.istio.io/v1alpha3/EnvoyFilter': { model: EnvoyFilter, module: '@kubernetes-models/istio/networking.istio.io/v1alpha3/EnvoyFilter', type: 'IEnvoyFilter' },
  'networking.istio.io/v1beta1/DestinationRule': { model: DestinationRule, module: '@kubernetes-models/istio/networking.istio.io/v1beta1/DestinationRule', type: 'IDestinationRule' },
  'networking.istio.io/v1beta1/Gateway': { model: IstioGateway, module: '@kubernetes-models/istio/networking.istio.io/v1beta1/Gateway', type: 'IGateway' },
  'networking.istio.io/v1beta1/ServiceEntry': { model: ServiceEntry, module: '@kubernetes-models/istio/networking.istio.io/v1beta1/ServiceEntry', type: 'IServiceEntry' },
  'networking.istio.io/v1beta1/VirtualService': { model: VirtualService, module: '@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService', type: 'IVirtualService' },
  // The IstioOperator model declares no spec at all: nothing to type-check beyond apiVersion, kind and metadata.
  'install.istio.io/v1alpha1/IstioOperator': { model: IstioOperator, module: '@kubernetes-models/istio/install.istio.io/v1alpha1/IstioOperator', type: 'IIstioOperator', typed: false },
};

const key = (o: Manifest) => `${o.apiVersion}/${o.kind}`;

export function hasModel(object: Manifest): boolean {
  return key(object) in MODELS;
}

/** The model's own validate() (its JSON schema: types, enums, required fields, patterns); [] when it passes. */
export function modelProblems(object: Manifest): string[] {
  const entry = MODELS[key(object)];
  if (!entry) return [`no kubernetes-models model for ${key(object)}`];
  try {
    new entry.model(structuredClone(object) as never).validate();
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/**
 * Unknown fields, as the API server's strict field validation rejects them: the models' JSON schemas leave objects
 * open, so each object is type-checked as an object literal of the model's TypeScript interface, where TypeScript's
 * excess-property check names every field the type does not declare. Returns problems per object index.
 */
export function unknownFieldProblems(objects: readonly Manifest[]): Map<number, string[]> {
  const fileName = join(DEPLOY_DIR, '..', 'test', 'deploy', '__manifests__.ts');
  const imports: string[] = [];
  const lines: string[] = [];
  const lineToIndex = new Map<number, number>();
  objects.forEach((object, i) => {
    const entry = MODELS[key(object)];
    if (!entry || entry.typed === false) return;
    imports.push(`import type { ${entry.type} as T${i} } from '${entry.module}';`);
    lineToIndex.set(lines.length, i);
    lines.push(`export const m${i}: T${i} = ${JSON.stringify(object)};`);
  });
  const source = `${imports.join('\n')}\n${lines.join('\n')}\n`;
  const options: ts.CompilerOptions = { strict: true, noEmit: true, skipLibCheck: true, types: [], module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022 };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) => (name === fileName ? ts.createSourceFile(name, source, languageVersion, true) : getSourceFile(name, languageVersion, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  const problems = new Map<number, string[]>();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.file.fileName !== fileName || d.start === undefined) throw new Error(`type-check setup failed: ${message}`);
    const line = d.file.getLineAndCharacterOfPosition(d.start).line - imports.length;
    const index = lineToIndex.get(line);
    if (index === undefined) throw new Error(`type-check setup failed: ${message}`);
    problems.set(index, [...(problems.get(index) ?? []), message]);
  }
  return problems;
}

export const TS_ROOT = dirname(DEPLOY_DIR);
