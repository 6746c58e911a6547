import { parseArgs } from 'node:util';
import { BOOTSTRAP_DEFAULTS, bootstrapYaml } from '../xds/bootstrap.js';

export const bootstrapHelp = `Usage: tollgate bootstrap [--node-id ID] [--node-cluster NAME] [--xds HOST:PORT] [--admin-port PORT] [--envoy-token-env]
       [--tls-ca FILE [--tls-cert FILE --tls-key FILE] [--tls-sni NAME]]

Prints the Envoy bootstrap YAML for an egress gateway: node identity, admin on 127.0.0.1, and ADS
pointing at Tollgate (default ${BOOTSTRAP_DEFAULTS.xdsAddress}). Listeners, routes, clusters and SDS secrets then arrive over xDS.
--envoy-token-env puts TOLLGATE_ENVOY_TOKEN into the ADS stream's initial metadata (the output is then a secret).
--tls-ca FILE [--tls-cert FILE --tls-key FILE] [--tls-sni NAME]: the ADS connection uses TLS, verifying Tollgate's
certificate against FILE (SAN = NAME, default the --xds host) and presenting the client certificate; the paths are
on Envoy's disk (e.g. a mounted Secret) and read when Envoy starts (the pushed tollgate cluster's certificates,
TOLLGATE_GRPC_ENVOY_CERT/KEY, rotate live over SDS).`;

export async function bootstrapCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'node-id': { type: 'string', default: BOOTSTRAP_DEFAULTS.nodeId },
      'node-cluster': { type: 'string', default: BOOTSTRAP_DEFAULTS.nodeCluster },
      xds: { type: 'string', default: BOOTSTRAP_DEFAULTS.xdsAddress },
      'admin-port': { type: 'string', default: String(BOOTSTRAP_DEFAULTS.adminPort) },
      'envoy-token-env': { type: 'boolean' },
      'tls-ca': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-sni': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(bootstrapHelp);
    return 0;
  }
  const envoyToken = values['envoy-token-env'] ? process.env.TOLLGATE_ENVOY_TOKEN : undefined;
  if (values['envoy-token-env'] && !envoyToken) {
    console.error('tollgate bootstrap: --envoy-token-env needs TOLLGATE_ENVOY_TOKEN in the environment');
    return 2;
  }
  if (!values['tls-cert'] !== !values['tls-key']) {
    console.error('tollgate bootstrap: --tls-cert and --tls-key go together');
    return 2;
  }
  if ((values['tls-cert'] || values['tls-sni']) && !values['tls-ca']) {
    console.error("tollgate bootstrap: TLS to Tollgate needs --tls-ca (the CA Tollgate's certificate chains to)");
    return 2;
  }
  const tls = values['tls-ca'] ? { caFile: values['tls-ca'], ...(values['tls-cert'] ? { certFile: values['tls-cert'], keyFile: values['tls-key']! } : {}), ...(values['tls-sni'] ? { sni: values['tls-sni'] } : {}) } : undefined;
  process.stdout.write(bootstrapYaml({ nodeId: values['node-id']!, nodeCluster: values['node-cluster']!, xdsAddress: values.xds!, adminPort: Number(values['admin-port']), ...(envoyToken ? { envoyToken } : {}), ...(tls ? { tls } : {}) }));
  return 0;
}
