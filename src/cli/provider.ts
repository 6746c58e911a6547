import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { loadPolicyText } from '../policy/load.js';
import { formatProblems } from '../policy/problems.js';
import { TOLLGATE_SERVICE_DEFAULT } from '../provider/common.js';
import { envoyGatewayYaml } from '../provider/envoy-gateway.js';
import { istioMeshConfig, istioYaml } from '../provider/istio.js';

export const providerHelp = `Usage: tollgate provider istio|envoy-gateway [--policy FILE] [--service HOST:PORT] [--namespace NS] [--tls]

Prints the manifests that make Tollgate the ext_authz and ext_proc provider of a gateway someone else configures
(Tollgate then runs with --no-xds): for every exact destination of the policy, a route through the gateway with TLS
originated there. Pipe to \`kubectl apply -f -\`.
  --policy FILE        the policy (default: TOLLGATE_POLICY)
  --service HOST:PORT  Tollgate's gRPC Service as the gateway reaches it (default ${TOLLGATE_SERVICE_DEFAULT})
  --namespace NS       namespace of the gateway objects (istio: istio-system; envoy-gateway: egress)
  --tls                Tollgate's gRPC port serves TLS with client certificates (deploy/components/grpc-tls)
  istio:          --egress-gateway-service HOST (default istio-egressgateway.istio-system.svc.cluster.local)
                  --mesh-config: print only the MeshConfig extension provider, as an IstioOperator (no policy needed)
  envoy-gateway:  --gateway-class NAME (default eg)`;

export async function providerCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      policy: { type: 'string' },
      service: { type: 'string', default: TOLLGATE_SERVICE_DEFAULT },
      namespace: { type: 'string' },
      tls: { type: 'boolean', default: false },
      'egress-gateway-service': { type: 'string', default: 'istio-egressgateway.istio-system.svc.cluster.local' },
      'mesh-config': { type: 'boolean', default: false },
      'gateway-class': { type: 'string', default: 'eg' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(providerHelp);
    return 0;
  }
  const kind = positionals[0];
  if ((kind !== 'istio' && kind !== 'envoy-gateway') || positionals.length > 1) {
    console.error(providerHelp);
    return 2;
  }
  if (kind === 'istio' && values['mesh-config']) {
    process.stdout.write(stringify(istioMeshConfig(values.service).istioOperator));
    return 0;
  }
  const file = values.policy ?? process.env.TOLLGATE_POLICY;
  if (!file) {
    console.error('tollgate provider: give --policy FILE (or TOLLGATE_POLICY)');
    return 2;
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    console.error(`${file}: ${(err as Error).message}`);
    return 1;
  }
  const loaded = loadPolicyText(text);
  if (!loaded.ok) {
    console.error(`${file}:\n${formatProblems(loaded.problems)}`);
    return 1;
  }
  const common = { service: values.service, tls: values.tls };
  if (kind === 'istio') {
    const opts = { ...common, namespace: values.namespace ?? 'istio-system', egressGatewayService: values['egress-gateway-service'] };
    process.stdout.write(istioYaml(loaded.policy, opts));
    return 0;
  }
  process.stdout.write(envoyGatewayYaml(loaded.policy, { ...common, namespace: values.namespace ?? 'egress', gatewayClassName: values['gateway-class'] }));
  return 0;
}
