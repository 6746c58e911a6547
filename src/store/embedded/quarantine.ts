import { rename } from 'node:fs/promises';

export interface Quarantined {
  file: string;
  /** Where the corrupt file now is: `<file>.corrupt-<timestamp>`, next to it, for a human to inspect. */
  movedTo: string;
  reason: string;
}

/** Moves a corrupt data file aside (never deletes it) so the next start does not trip on it again. */
export async function quarantineFile(file: string, reason: string): Promise<Quarantined> {
  const movedTo = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(file, movedTo);
  return { file, movedTo, reason };
}
