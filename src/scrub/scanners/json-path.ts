import type { DetectorSet } from '../engine.js';

/** A name that may be stored as is: a plain identifier of at most 32 chars (no `@`, `.`, `%`, digits first…). */
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,31}$/;

/**
 * A JSON key, form field, query parameter or header name as it may appear in a stored location:
 * itself when it is a plain identifier in which no detector finds anything, else `{key}`. A name can
 * carry a value (`{"alice@example.com": 1}`, `?AKIA…=1`), and locations land in the audit log.
 */
export function storedName(set: DetectorSet, name: string): string {
  return PLAIN_NAME.test(name) && set.match(name).length === 0 ? name : '{key}';
}

/** `storedName` with a small per-call memo: the same keys repeat across a document's objects. */
export function storedNamer(set: DetectorSet): (name: string) => string {
  const memo = new Map<string, string>();
  return (name) => {
    let shown = memo.get(name);
    if (shown === undefined) {
      shown = storedName(set, name);
      if (memo.size < 1024) memo.set(name, shown);
    }
    return shown;
  };
}
