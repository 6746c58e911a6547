/**
 * Key scheme of the fleet audit log on Redis. Every key of one replica shares the hash tag `{<prefix>:audit:<replica>}`, so
 * the ship script (streams, cursor, day index, segment headers in one call) works on a Cluster, and replicas spread over slots.
 *
 *   {<prefix>:audit:<replica>}:<yyyymmdd>   stream: that replica's records whose `time` falls on that UTC day; id `<seq>-0`
 *   {<prefix>:audit:<replica>}:days         zset: the days that have a stream (score = yyyymmdd)
 *   {<prefix>:audit:<replica>}:segments     hash: local segment first_seq → its header JSON (for chain verification)
 *   {<prefix>:audit:<replica>}:cursor       hash: gen, seq, hash (last shipped), low (oldest seq still held locally), updated
 *   {<prefix>:audit}:replicas               set: replica ids that ever shipped
 */
export interface AuditKeys {
  replica: string;
  tag: string;
  cursor: string;
  days: string;
  segments: string;
  stream(day: string): string;
}

const REPLICA_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** A replica id is part of key names: letters, digits, `.`, `_`, `-` (no braces, so it cannot change the hash tag). */
export function checkReplicaId(id: string): string {
  if (!REPLICA_RE.test(id)) throw new Error(`invalid replica id "${id.slice(0, 80)}": use 1-64 letters, digits, ".", "_" or "-"`);
  return id;
}

export function auditKeys(prefix: string, replica: string): AuditKeys {
  const tag = `{${prefix}:audit:${checkReplicaId(replica)}}`;
  return { replica, tag, cursor: `${tag}:cursor`, days: `${tag}:days`, segments: `${tag}:segments`, stream: (day) => `${tag}:${day}` };
}

export function replicasKey(prefix: string): string {
  return `{${prefix}:audit}:replicas`;
}

/** The UTC day (`yyyymmdd`) of an ISO time, or undefined when it does not parse. */
export function dayOf(time: string): string | undefined {
  const t = Date.parse(time);
  if (!Number.isFinite(t)) return undefined;
  return new Date(t).toISOString().slice(0, 10).replaceAll('-', '');
}

/** Epoch ms of the start of a `yyyymmdd` day (UTC). */
export function dayStart(day: string): number {
  return Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6, 8)));
}

/** The stream entry id of a record: its chain position, so a re-send of the same record is refused as not newer. */
export function entryId(seq: number): string {
  return `${seq}-0`;
}

export function seqOfId(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}
