import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { buildPolicy } from '../engine/policy-version.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { formatProblems, type Problem } from '../policy/problems.js';
import { buildResources, type ResourceJson } from '../xds/resources/build.js';
import { xdsOptionsSchema } from '../xds/resources/options.js';
import { checkEnvoySemantics, semanticProblemToProblem } from '../xds/semantics/index.js';

export const validateHelp = `Usage: tollgate validate POLICY_FILE [--json]

Checks a policy file: schema, references between identities and rules, IP and CIDR syntax,
signed-header keys; then builds the Envoy resources for it (default xDS options) and checks the rules
Envoy enforces when it loads them (unique domains, filter order, clusters that exist, TLS...).
Exits 0 when valid; otherwise prints every problem as "path: message" and exits 1. With --json it
prints {"file","valid","problems":[{"path","message"}],"rules","identities"} on stdout instead.`;

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
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } } });
  if (values.help) {
    console.log(validateHelp);
    return 0;
  }
  const file = positionals[0];
  if (!file || positionals.length > 1) {
    console.error(validateHelp);
    return 2;
  }
  const report = (problems: Problem[], counts?: { rules: number; identities: number }): number => {
    if (values.json) console.log(JSON.stringify({ file, valid: problems.length === 0, problems, ...counts }));
    else if (problems.length > 0) console.error(formatProblems(problems));
    else console.log(`${file}: valid (${counts!.rules} rules, ${counts!.identities} identities)`);
    return problems.length === 0 ? 0 : 1;
  };
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return report([{ path: '(file)', message: `${file}: ${(err as Error).message}` }]);
  }
  const built = buildPolicy(text);
  if (!built.ok) return report(built.problems);
  const policy = built.build.policy;
  return report(envoyProblems(policy, build), { rules: policy.rules.length, identities: policy.identityNames.size });
}
