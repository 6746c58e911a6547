import { parseDocument, type ScalarTag } from 'yaml';
import { checkMessage, type CheckOptions } from './check.js';
import type { Problem } from './problem.js';

export const BOOTSTRAP_TYPE = 'envoy.config.bootstrap.v3.Bootstrap';

// Envoy reads YAML with yaml-cpp, whose booleans are the YAML 1.1 set (yes/no/on/off/y/n in three casings).
const YAML_CPP_BOOL: ScalarTag = {
  identify: (value) => typeof value === 'boolean',
  default: true,
  tag: 'tag:yaml.org,2002:bool',
  test: /^(?:y|Y|yes|Yes|YES|true|True|TRUE|on|On|ON|n|N|no|No|NO|false|False|FALSE|off|Off|OFF)$/,
  resolve: (text) => /^(?:y|yes|true|on)$/i.test(text),
};

/** Parses Envoy YAML into JSON-shaped data, or returns the syntax problems (with line numbers). */
export function parseEnvoyYaml(text: string): { value: unknown; problems: Problem[] } {
  const doc = parseDocument(text, { customTags: (tags) => [YAML_CPP_BOOL, ...tags], prettyErrors: true });
  if (doc.errors.length > 0) {
    return { value: undefined, problems: doc.errors.map((e) => ({ path: '', message: `YAML: ${e.message}` })) };
  }
  return { value: doc.toJS({ maxAliasCount: 1000 }), problems: [] };
}

/** Checks an Envoy YAML document (a bootstrap by default) against the Envoy protos. */
export function checkEnvoyYaml(text: string, typeName: string = BOOTSTRAP_TYPE, options?: CheckOptions): Problem[] {
  const { value, problems } = parseEnvoyYaml(text);
  return problems.length > 0 ? problems : checkMessage(typeName, value, options);
}
