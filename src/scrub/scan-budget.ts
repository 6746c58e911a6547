/**
 * Work one scan (one body, or one stream) may spend on libphonenumber, shared by every string the
 * scan looks at. A parse costs ~10–30 µs and a phone-shaped candidate can take one per configured
 * region (14 by default), so a body padded with phone-shaped decoys could otherwise hold the event
 * loop for seconds (`bench/scrub/pathological.ts`). Within a scan, a candidate written the same way
 * twice is decided once (the memo). When the parses are spent, the remaining candidates are decided
 * by shape alone (`classifyPhone`): they are redacted, never let through, so padding cannot push a
 * real number past the budget; a hostile body is over-redacted instead, and the scan says so.
 */
export const DEFAULT_PHONE_PARSE_BUDGET = 2000;
/** Distinct candidates remembered per scan (bounded memory on a body of millions of numbers). */
const MEMO_LIMIT = 8192;

export class ScanBudget {
  /** Candidates decided by shape because the parses were spent. */
  structural = 0;
  private parsesLeft: number;
  private memo: Map<string, string | null> | undefined;

  constructor(readonly phoneParses: number = DEFAULT_PHONE_PARSE_BUDGET) {
    this.parsesLeft = phoneParses;
  }

  /** Takes one libphonenumber parse; false once the budget is spent. */
  takeParse(): boolean {
    if (this.parsesLeft <= 0) return false;
    this.parsesLeft--;
    return true;
  }

  /** True once no parse is left: decisions are then by shape, cheaper than a memo lookup. */
  get spent(): boolean {
    return this.parsesLeft <= 0;
  }

  get parsesUsed(): number {
    return this.phoneParses - this.parsesLeft;
  }

  /** A candidate's earlier decision in this scan: E.164 (or fallback digits), null for "not a phone", undefined if unseen. */
  recall(key: string): string | null | undefined {
    return this.memo?.get(key);
  }

  remember(key: string, value: string | null): void {
    this.memo ??= new Map();
    if (this.memo.size < MEMO_LIMIT) this.memo.set(key, value);
  }

  /** What a scan reports when the budget ran out, else undefined. */
  note(): string | undefined {
    if (this.structural === 0) return undefined;
    return `phone validation budget spent (${this.phoneParses} libphonenumber parses): ${this.structural} phone-shaped candidate(s) redacted by shape alone, not validated`;
  }
}
