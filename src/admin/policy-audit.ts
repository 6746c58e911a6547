import { diffLines } from '../dashboard/text-diff.js';
import type { PolicyManager, PolicyOrigin } from '../engine/policy-manager.js';
import type { PolicyVersion } from '../engine/policy-version.js';
import type { AdminEvent } from '../events/types.js';
import { redactPolicyText } from '../policy/secrets.js';
import type { AdminCaller } from './roles.js';

/** Appends one admin record to the hash-chained audit log; resolves once it is durable (or queued for a retry). */
export type AdminAuditSink = (event: AdminEvent) => Promise<void>;

/** Who acted when the admin API runs without tokens (loopback only): anyone local, with every right. */
export const LOOPBACK_CALLER: AdminCaller = { name: 'loopback', role: 'admin' };

/** Versions whose predecessor is remembered: enough for the PUTs in flight at any one time. */
const REMEMBERED = 32;

/**
 * Turns policy changes into `admin` audit records: API writes (who, role, remote), refused attempts, and policy-file
 * reloads (`who: "file"`), each with the line diff of the redacted texts so that no inline secret reaches the log.
 */
export class PolicyAudit {
  private last: PolicyVersion;
  /** to_version → the version it replaced, filled synchronously as versions install (before `update()` resolves). */
  private readonly replaced = new Map<number, PolicyVersion>();
  private readonly unsubscribe: () => void;

  constructor(
    policies: PolicyManager,
    private readonly sink: AdminAuditSink,
    private readonly onError: (err: unknown) => void,
  ) {
    this.last = policies.current;
    this.unsubscribe = policies.subscribe((v, origin: PolicyOrigin) => {
      const from = this.last;
      this.last = v;
      this.replaced.set(v.version, from);
      if (this.replaced.size > REMEMBERED) this.replaced.delete(this.replaced.keys().next().value!);
      // API writes are recorded by the route, which knows the caller; another replica's write was recorded there.
      if (origin === 'file') void this.append(changeEvent(v, from, { who: 'file', method: 'RELOAD', path: '(policy file)' }));
    });
  }

  /** A PUT installed `v`. */
  installed(v: PolicyVersion, caller: AdminCaller, remote: string): Promise<void> {
    return this.append(changeEvent(v, this.replaced.get(v.version), { who: caller.name, role: caller.role, remote, method: 'PUT', path: '/v1/policy' }));
  }

  /** A PUT that changed nothing: stale ETag (`etag_mismatch`) or a role that may not write (`forbidden`). */
  refused(reason: 'etag_mismatch' | 'forbidden', caller: AdminCaller, current: PolicyVersion, remote: string): Promise<void> {
    return this.append({
      kind: 'admin',
      time: new Date().toISOString(),
      identity: caller.name,
      destination: 'tollgate-admin',
      method: 'PUT',
      path_template: '/v1/policy',
      who: caller.name,
      role: caller.role,
      action: 'policy.update.refused',
      from_version: current.version,
      reason,
      remote,
    });
  }

  close(): void {
    this.unsubscribe();
  }

  private async append(event: AdminEvent): Promise<void> {
    try {
      await this.sink(event);
    } catch (err) {
      this.onError(err);
    }
  }
}

function changeEvent(v: PolicyVersion, from: PolicyVersion | undefined, by: { who: string; role?: AdminCaller['role']; remote?: string; method: string; path: string }): AdminEvent {
  return {
    kind: 'admin',
    time: v.loadedAt,
    identity: by.who,
    destination: 'tollgate-admin',
    method: by.method,
    path_template: by.path,
    who: by.who,
    ...(by.role ? { role: by.role } : {}),
    action: 'policy.update',
    ...(from ? { from_version: from.version } : {}),
    to_version: v.version,
    diff: policyDiff(from ? redactPolicyText(from.text, from.policy.document) : '', redactPolicyText(v.text, v.policy.document)),
    ...(by.remote ? { remote: by.remote } : {}),
  };
}

/** Changed lines only, each run under a `@@ -oldLine +newLine @@` header; `-` removed, `+` added. */
export function policyDiff(before: string, after: string): string[] {
  const out: string[] = [];
  let lastOld = 0;
  let lastNew = 0;
  let inRun = false;
  for (const l of diffLines(before, after).lines) {
    if (l.op === '=') {
      inRun = false;
    } else {
      if (!inRun) out.push(`@@ -${l.old ?? lastOld + 1} +${l.new ?? lastNew + 1} @@`);
      inRun = true;
      out.push(`${l.op}${l.line}`);
    }
    if (l.old !== null) lastOld = l.old;
    if (l.new !== null) lastNew = l.new;
  }
  return out;
}
