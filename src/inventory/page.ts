/** A page of results and the cursor for the next one (null on the last page). */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
  /** Items matching the filters across all pages. */
  total: number;
}

export class InventoryQueryError extends Error {}

interface CursorBody {
  s: string;
  v: number;
  k: string;
}

type Row<T> = { value: number; key: string; item: T };

/** Sort order of every listing: value descending, then key ascending. */
function before<T>(a: Row<T>, b: Row<T>): boolean {
  return a.value > b.value || (a.value === b.value && a.key < b.key);
}

/**
 * Keyset pagination: items sort by value descending, then key ascending, and a cursor is the
 * (value, key) of the last item handed out. The next page starts strictly after it, so no item repeats
 * or goes missing between pages unless its own value changed in between. Only the page is sorted
 * (a bounded heap), so a page over 200,000 edges costs a pass, not a full sort.
 */
export function paginate<T>(rows: Array<Row<T>>, sort: string, cursor: string | undefined, limit: number): Page<T> {
  const c = cursor === undefined ? undefined : decodeCursor(cursor, sort);
  const after: Row<undefined> | undefined = c && { value: c.v, key: c.k, item: undefined };
  // Max-heap on "comes later", holding the `limit + 1` earliest rows after the cursor (one extra tells whether more follow).
  const heap: Array<Row<T>> = [];
  const k = limit + 1;
  for (const r of rows) {
    if (after && !before(after as Row<unknown>, r)) continue;
    if (heap.length < k) {
      heap.push(r);
      siftUp(heap, heap.length - 1);
    } else if (before(r, heap[0]!)) {
      heap[0] = r;
      siftDown(heap, 0);
    }
  }
  heap.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  const more = heap.length > limit;
  const slice = heap.slice(0, limit);
  const last = slice[slice.length - 1];
  return {
    items: slice.map((r) => r.item),
    next_cursor: more && last ? Buffer.from(JSON.stringify({ s: sort, v: last.value, k: last.key } satisfies CursorBody)).toString('base64url') : null,
    total: rows.length,
  };
}

function siftUp<T>(h: Array<Row<T>>, i: number): void {
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!before(h[p]!, h[i]!)) return;
    [h[p], h[i]] = [h[i]!, h[p]!];
    i = p;
  }
}

function siftDown<T>(h: Array<Row<T>>, i: number): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let worst = i;
    if (l < h.length && before(h[worst]!, h[l]!)) worst = l;
    if (r < h.length && before(h[worst]!, h[r]!)) worst = r;
    if (worst === i) return;
    [h[worst], h[i]] = [h[i]!, h[worst]!];
    i = worst;
  }
}

function decodeCursor(cursor: string, sort: string): CursorBody {
  let body: Partial<CursorBody>;
  try {
    body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<CursorBody>;
  } catch {
    throw new InventoryQueryError('cursor is not one this API handed out');
  }
  if (typeof body.v !== 'number' || typeof body.k !== 'string' || typeof body.s !== 'string') throw new InventoryQueryError('cursor is not one this API handed out');
  if (body.s !== sort) throw new InventoryQueryError(`cursor was made for sort=${body.s}; repeat the query with sort=${body.s} or start without a cursor`);
  return body as CursorBody;
}
