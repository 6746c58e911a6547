import { readFileSync } from 'node:fs';
import { checkMessage, type CheckOptions } from './check.js';
import type { Problem } from './problem.js';
import { BOOTSTRAP_TYPE, checkEnvoyYaml } from './yaml.js';

/** Checks a config file as Envoy would load it: `.json` as JSON, anything else as YAML. IO errors throw. */
export function checkFile(path: string, typeName: string = BOOTSTRAP_TYPE, options?: CheckOptions): Problem[] {
  const text = readFileSync(path, 'utf8');
  if (!path.endsWith('.json')) return checkEnvoyYaml(text, typeName, options);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return [{ path: '', message: `JSON: ${(err as Error).message}` }];
  }
  return checkMessage(typeName, json, options);
}
