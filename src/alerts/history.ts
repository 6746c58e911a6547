/** Fixed-capacity log: keeps the newest `capacity` items, oldest overwritten first. */
export class BoundedLog<T> {
  private readonly items: T[] = [];
  private next = 0;

  constructor(readonly capacity: number) {}

  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }

  get size(): number {
    return this.items.length;
  }

  *newestFirst(): IterableIterator<T> {
    const n = this.items.length;
    for (let i = 1; i <= n; i++) yield this.items[(this.next - i + n) % n]!;
  }
}
