import { parseArgs } from 'node:util';
import { BOOTSTRAP_DEFAULTS, bootstrapYaml } from '../xds/bootstrap.js';

export const bootstrapHelp = `Usage: tollgate bootstrap [--node-id ID] [--node-cluster NAME] [--xds HOST:PORT] [--admin-port PORT] [--envoy-token-env]

Prints the Envoy bootstrap YAML for an egress gateway: node identity, admin on 127.0.0.1, and ADS
pointing at Tollgate (default ${BOOTSTRAP_DEFAULTS.xdsAddress}). Listeners, routes, clusters and SDS secrets then arrive over xDS.
--envoy-token-env puts TOLLGATE_ENVOY_TOKEN into the ADS stream's initial metadata (the output is then a secret).`;

export async function bootstrapCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'node-id': { type: 'string', default: BOOTSTRAP_DEFAULTS.nodeId },
      'node-cluster': { type: 'string', default: BOOTSTRAP_DEFAULTS.nodeCluster },
      xds: { type: 'string', default: BOOTSTRAP_DEFAULTS.xdsAddress },
      'admin-port': { type: 'string', default: String(BOOTSTRAP_DEFAULTS.adminPort) },
      'envoy-token-env': { type: 'boolean' },
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
  process.stdout.write(bootstrapYaml({ nodeId: values['node-id']!, nodeCluster: values['node-cluster']!, xdsAddress: values.xds!, adminPort: Number(values['admin-port']), ...(envoyToken ? { envoyToken } : {}) }));
  return 0;
}
