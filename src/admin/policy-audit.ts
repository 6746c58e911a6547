import type { PolicyManager, PolicyOrigin } from '../engine/policy-manager.js';
import type { PolicyVersion } from '../engine/policy-version.js';
import type { AdminEvent } from '../events/types.js';
import { redactPolicyText } from '../policy/secrets.js';
import { policyDiff, type PolicyDiff } from './policy-diff.js';
import type { AdminCaller } from './roles.js';

/** Appends one admin record to the hash-chained audit log; resolves once it is durable (or queued for a retry). */
export type AdminAuditSink = (event: AdminEvent) => Promise<void>;

/** Who acted when the admin API runs without tokens (loopback only): anyone local, with every right. */
export const LOOPBACK_CALLER: AdminCaller = { name: 'loopback', role: 'admin' };

/** Diffs of recent changes kept for `installed()`: enough for the PUTs in flight at any one time (each is bounded). */
const REMEMBERED = 32;

/**
 * Turns policy changes into `admin` audit records: API writes (who, role, remote), refused attempts, and policy-file
 * reloads (`who: "file"`), each with a bounded diff of the redacted texts (so no inline secret reaches the log):
 * the first changed lines, counts of added/removed lines and the sha256 of both redacted texts (see `policyDiff`).
 * Only the current version is referenced (the manager holds it anyway); a replaced version is let go once its diff is
 * taken, which runs sliced between Checks.
 */
export class PolicyAudit {
  private last: PolicyVersion;
  /** to_version → the diff against the version it replaced, started synchronously as versions install. */
  private readonly diffs = new Map<number, Promise<{ from: number; diff: PolicyDiff }>>();
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
      const diff = policyDiff(redactPolicyText(from.text, from.policy.document), redactPolicyText(v.text, v.policy.document)).then((d) => ({ from: from.version, diff: d }));
      diff.catch(() => undefined); // reported by whoever awaits it
      this.diffs.set(v.version, diff);
      if (this.diffs.size > REMEMBERED) this.diffs.delete(this.diffs.keys().next().value!);
      // API writes are recorded by the route, which knows the caller; another replica's write was recorded there.
      if (origin === 'file') void this.change(v, { who: 'file', method: 'RELOAD', path: '(policy file)' });
    });
  }

  /** A PUT installed `v`. */
  installed(v: PolicyVersion, caller: AdminCaller, remote: string): Promise<void> {
    return this.change(v, { who: caller.name, role: caller.role, remote, method: 'PUT', path: '/v1/policy' });
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

  private async change(v: PolicyVersion, by: ChangeBy): Promise<void> {
    let event: AdminEvent;
    try {
      const pending = this.diffs.get(v.version);
      // Not seen installing (a version from before this audit existed): diff against nothing.
      const d = pending ? await pending : { from: undefined, diff: await policyDiff('', redactPolicyText(v.text, v.policy.document)) };
      event = changeEvent(v, d.from, d.diff, by);
    } catch (err) {
      // The change is recorded whatever happened to its diff.
      this.onError(err);
      event = changeEvent(v, undefined, undefined, by);
    }
    return this.append(event);
  }

  private async append(event: AdminEvent): Promise<void> {
    try {
      await this.sink(event);
    } catch (err) {
      this.onError(err);
    }
  }
}

interface ChangeBy {
  who: string;
  role?: AdminCaller['role'];
  remote?: string;
  method: string;
  path: string;
}

function changeEvent(v: PolicyVersion, from: number | undefined, diff: PolicyDiff | undefined, by: ChangeBy): AdminEvent {
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
    ...(from !== undefined ? { from_version: from } : {}),
    to_version: v.version,
    ...(diff ? { diff: diff.lines, diff_stats: diff.stats } : {}),
    ...(by.remote ? { remote: by.remote } : {}),
  };
}
