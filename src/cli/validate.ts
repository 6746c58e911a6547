import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { buildPolicy } from '../engine/policy-version.js';
import { formatProblems } from '../policy/problems.js';

export const validateHelp = `Usage: tollgate validate POLICY_FILE

Checks a policy file: schema, references between identities and rules, IP and CIDR syntax,
signed-header keys. Exits 0 when valid; otherwise prints every problem as "path: message" and exits 1.`;

export async function validateCommand(argv: string[]): Promise<number> {
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
  console.log(`${file}: valid (${built.build.policy.rules.length} rules, ${built.build.policy.identityNames.size} identities)`);
  return 0;
}
