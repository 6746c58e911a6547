import { access, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { exportAudit } from '../audit/export.js';
import { buildPolicy } from '../engine/policy-version.js';
import type { EgressEvent } from '../events/types.js';
import { formatProblems } from '../policy/problems.js';
import { EmbeddedInventoryStore } from '../store/embedded/inventory-store.js';
import { edgeKey } from './edges.js';
import { Inventory } from './index.js';
import { parseSince, SINCE_HELP } from './since.js';
import { suggestPolicy, type ObservedEdge } from './suggest-policy.js';

export const suggestPolicyHelp = `Usage: tollgate suggest-policy [--since 7d] [--data DIR] [--policy CURRENT_POLICY_FILE] [--source auto|audit|inventory] [--max-paths N]

Turns observed allowed traffic into a least-privilege policy: one egress block per identity, one rule
per destination with exactly the methods and paths seen (ids in paths become "*"). Allowed means
allowed or report_deny, so running in report mode first and then here is the way to enforce.

  --since WHEN      ${SINCE_HELP} (default 7d)
  --data DIR        data directory of "tollgate serve" (default ./data, or TOLLGATE_DATA_DIR)
  --source S        audit: the decisions in <data>/audit (exactly the --since window);
                    inventory: the edges in <data>/inventory.json (written every 30 s) last seen
                    since then; auto (default): the audit log when there is one
  --policy FILE     current policy: everything but egress is kept (identities, scrub, alerts) so the
                    output validates; without it the output needs an identities section
  --max-paths N     more distinct paths per rule collapse to "/<first segment>/**" (default 25)

Prints YAML on stdout; exits 1 when there is no inventory or the result would not validate.`;

export async function suggestPolicyCommand(argv: string[]): Promise<number> {
  let values: { help?: boolean; since?: string; data?: string; policy?: string; source?: string; 'max-paths'?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        help: { type: 'boolean', short: 'h' },
        since: { type: 'string' },
        data: { type: 'string' },
        policy: { type: 'string' },
        source: { type: 'string' },
        'max-paths': { type: 'string' },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${suggestPolicyHelp}`);
    return 2;
  }
  if (values.help) {
    console.log(suggestPolicyHelp);
    return 0;
  }
  const sinceText = values.since ?? '7d';
  const since = parseSince(sinceText);
  if (since === undefined) {
    console.error(`--since "${sinceText}": expected ${SINCE_HELP}`);
    return 2;
  }
  const source = values.source ?? 'auto';
  if (source !== 'auto' && source !== 'audit' && source !== 'inventory') {
    console.error(`--source must be auto, audit or inventory, not "${source}"`);
    return 2;
  }
  const maxPaths = values['max-paths'] === undefined ? 25 : Number(values['max-paths']);
  if (!Number.isInteger(maxPaths) || maxPaths < 1) {
    console.error('--max-paths must be a positive whole number');
    return 2;
  }

  let base: Record<string, unknown> | undefined;
  if (values.policy) {
    try {
      const text = await readFile(values.policy, 'utf8');
      const current = buildPolicy(text);
      if (!current.ok) {
        console.error(`${values.policy}: the current policy is not valid; fix it first:\n${formatProblems(current.problems)}`);
        return 1;
      }
      const raw: unknown = parseYaml(text);
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('not a policy document');
      base = raw as Record<string, unknown>;
    } catch (err) {
      console.error(`${values.policy}: ${(err as Error).message.split('\n')[0]}`);
      return 1;
    }
  }

  const dataDir = values.data ?? process.env.TOLLGATE_DATA_DIR ?? './data';
  const auditDir = join(dataDir, 'audit');
  const useAudit = source === 'audit' || (source === 'auto' && (await hasAuditSegments(auditDir)));
  let observed: ObservedEdge[];
  if (useAudit) {
    observed = await observedFromAudit(auditDir, since);
  } else {
    const snapshot = join(dataDir, 'inventory.json');
    try {
      await access(snapshot);
    } catch {
      console.error(`${snapshot}: no inventory snapshot (and no audit log in ${auditDir}); run "tollgate serve --data ${dataDir}" with traffic first`);
      return 1;
    }
    observed = await observedFromInventory(dataDir, since);
  }

  const suggestion = suggestPolicy(observed, { base, since: new Date(since), maxPathsPerRule: maxPaths });
  for (const s of suggestion.skipped) console.error(`left out ${s.identity} (${s.requests} requests): ${s.reason}`);
  if (base) {
    const built = buildPolicy(suggestion.yaml);
    if (!built.ok) {
      console.error(`the suggested policy does not validate:\n${formatProblems(built.problems)}`);
      return 1;
    }
  } else {
    console.error('no --policy given: add your identities section before "tollgate validate"');
  }
  process.stdout.write(suggestion.yaml);
  return 0;
}

async function hasAuditSegments(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).some((f) => f.endsWith('.jsonl'));
  } catch {
    return false;
  }
}

/** Allowed decisions in the audit log since `since`, folded per edge. Read-only; safe while the server runs. */
async function observedFromAudit(dir: string, since: number): Promise<ObservedEdge[]> {
  const edges = new Map<string, ObservedEdge>();
  for await (const line of exportAudit(dir, { since })) {
    const e = JSON.parse(line) as EgressEvent;
    if (e.kind !== 'decision' || e.verdict === 'deny') continue;
    const key = edgeKey(e);
    const have = edges.get(key);
    if (have) have.allowed++;
    else edges.set(key, { identity: e.identity, destination: e.destination, method: e.method, path_template: e.path_template, allowed: 1 });
  }
  return [...edges.values()];
}

/** Edges of the inventory snapshot last seen since `since` that had allowed requests. */
async function observedFromInventory(dataDir: string, since: number): Promise<ObservedEdge[]> {
  const store = await EmbeddedInventoryStore.open({ dataDir, snapshotIntervalMs: 0 });
  const observed: ObservedEdge[] = [];
  for await (const e of new Inventory({ store }).edges(since)) {
    observed.push({ identity: e.identity, destination: e.destination, method: e.method, path_template: e.path_template, allowed: e.decisions.allow + e.decisions.report_deny });
  }
  return observed;
}
