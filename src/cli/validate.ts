import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { buildPolicy } from '../engine/policy-version.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { formatProblems, type Problem } from '../policy/problems.js';
import { buildResources, type ResourceJson } from '../xds/resources/build.js';
import { xdsOptionsSchema } from '../xds/resources/options.js';
import { checkEnvoySemantics, semanticProblemToProblem } from '../xds/semantics/index.js';

export const validateHelp = `Usage: tollgate validate POLICY_FILE

Checks a policy file: schema, references between identities and rules, IP and CIDR syntax,
signed-header keys; then builds the Envoy resources for it (default xDS options) and checks the rules
Envoy enforces when it loads them (unique domains, filter order, clusters that exist, TLS...).
Exits 0 when valid; otherwise prints every problem as "path: message" and exits 1.`;

const defaultBuild = (policy: CompiledPolicy): ResourceJson[] => buildResources(policy, xdsOptionsSchema.parse({}));

/** What Envoy would reject or mishandle in the resources built for a policy, as `path: message` problems. */
export function envoyProblems(policy: CompiledPolicy, build: (policy: CompiledPolicy) => ResourceJson[] = defaultBuild): Problem[] {
  let resources: ResourceJson[];
  try {
    resources = build(policy);
  } catch (err) {
    return [{ path: 'xds', message: `cannot build the Envoy resources: ${(err as Error).message}` }];
  }
  return checkEnvoySemantics(resources).map(semanticProblemToProblem);
}

/** `build` makes the resources to check (the real builder by default; tests give hand-made resources). */
export async function validateCommand(argv: string[], build: (policy: CompiledPolicy) => ResourceJson[] = defaultBuild): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(validateHelp);
    return 0;
  }
  const file = positionals[0];
  if (!file || positionals.length > 1) {
    console.error(validateHelp);
    return 2;
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    console.error(`${file}: ${(err as Error).message}`);
    return 1;
  }
  const built = buildPolicy(text);
  if (!built.ok) {
    console.error(formatProblems(built.problems));
    return 1;
  }
  const envoy = envoyProblems(built.build.policy, build);
  if (envoy.length > 0) {
    console.error(formatProblems(envoy));
    return 1;
  }
  console.log(`${file}: valid (${built.build.policy.rules.length} rules, ${built.build.policy.identityNames.size} identities)`);
  return 0;
}
