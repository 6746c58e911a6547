/**
 * Remembers which edge each recent request was counted on, so its access log lands on the same edge
 * even when the access log names the caller or path differently. Bounded: the oldest request ids go
 * first (a request's access log follows its decision within seconds).
 */
export class RequestJoin {
  private readonly keys = new Map<string, string>();

  constructor(private readonly max = 65_536) {}

  remember(requestId: string, edgeKey: string): void {
    if (this.keys.size >= this.max) this.keys.delete(this.keys.keys().next().value as string);
    this.keys.set(requestId, edgeKey);
  }

  /** The edge key of a decided request, forgotten once its access log has been joined. */
  take(requestId: string): string | undefined {
    const key = this.keys.get(requestId);
    if (key !== undefined) this.keys.delete(requestId);
    return key;
  }
}
