import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { buildPolicy } from '../engine/policy-version.js';
import { decideChecked } from '../authz/authorize.js';
import { DnsGuard } from '../authz/dns-guard.js';
import { formatProblems } from '../policy/problems.js';

export const decideHelp = `Usage: tollgate decide --policy FILE --host HOST[:PORT] [--identity NAME | --principal ID | --source-ip IP]
                      [--method METHOD] [--path PATH] [--json]

Evaluates one request against a policy file, as ext_authz would, and prints the decision and its
reason. With --principal/--source-ip the identity is resolved as from mTLS or the source address.
Exits 0 when allowed (including report_deny), 3 when denied.`;

export async function decideCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      policy: { type: 'string' },
      identity: { type: 'string' },
      principal: { type: 'string' },
      'source-ip': { type: 'string' },
      host: { type: 'string' },
      method: { type: 'string', default: 'GET' },
      path: { type: 'string', default: '/' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(decideHelp);
    return 0;
  }
  if (!values.policy || !values.host) {
    console.error(decideHelp);
    return 2;
  }
  const built = buildPolicy(await readFile(values.policy, 'utf8'));
  if (!built.ok) {
    console.error(formatProblems(built.problems));
    return 1;
  }
  const policy = built.build.policy;
  if (values.identity && values.identity !== 'unknown' && !policy.identityNames.has(values.identity)) {
    const known = [...policy.identityNames].join(', ') || '(none)';
    console.error(`tollgate decide: identity "${values.identity}" is not defined in ${values.policy} (identities: ${known}); deciding as an unknown caller would`);
  }
  const identity = values.identity ?? (await built.build.identities.resolve({ principal: values.principal, sourceAddress: values['source-ip'] })).name;
  // The same DNS guard a Check runs on wildcard matches (system resolver, fail closed).
  const decision = await decideChecked(policy, { identity, authority: values.host, method: values.method!, path: values.path! }, new DnsGuard());
  if (values.json) console.log(JSON.stringify({ identity, ...decision }));
  else console.log(`${decision.verdict.toUpperCase()} ${identity} → ${values.method} ${decision.destination}\n  rule:   ${decision.rule}\n  mode:   ${decision.mode}\n  reason: ${decision.reason}`);
  return decision.allowed ? 0 : 3;
}
