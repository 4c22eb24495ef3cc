/**
 * A priority queue with set semantics and O(1) discard, as dask's `HeapSet`: membership maps
 * each item to the sequence number of its one live heap entry; entries of discarded (or
 * re-queued) items are skipped lazily when they reach the top.
 * The worker keeps its ready tasks and its per-peer "data needed" queues in these.
 */

/** Lexicographic order of priority tuples: smaller runs first; a prefix sorts before its extensions. */
export function comparePriority(a: readonly number[], b: readonly number[]): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return a.length - b.length;
}

interface Entry<T> {
  readonly item: T;
  readonly priority: readonly number[];
  /** Insertion order breaks ties, so equal priorities come out first-in first-out. */
  readonly seq: number;
}

function before<T>(a: Entry<T>, b: Entry<T>): boolean {
  const c = comparePriority(a.priority, b.priority);
  return c < 0 || (c === 0 && a.seq < b.seq);
}

export class HeapSet<T> {
  /** item -> seq of its live entry. */
  private readonly members = new Map<T, number>();
  private heap: Entry<T>[] = [];
  private seq = 0;

  constructor(private readonly priorityOf: (item: T) => readonly number[]) {}

  get size(): number {
    return this.members.size;
  }

  has(item: T): boolean {
    return this.members.has(item);
  }

  /** Adds `item` with its current priority; a member already queued keeps its place. */
  push(item: T): void {
    if (this.members.has(item)) return;
    const seq = this.seq++;
    this.members.set(item, seq);
    this.heap.push({ item, priority: this.priorityOf(item), seq });
    this.siftUp(this.heap.length - 1);
  }

  /** Re-queues a member whose priority changed. */
  update(item: T): void {
    if (!this.members.delete(item)) return;
    this.push(item);
  }

  discard(item: T): void {
    if (!this.members.delete(item)) return;
    // Stale entries cost memory only; rebuild when they dominate.
    if (this.heap.length > 64 && this.heap.length > 2 * this.members.size) this.rebuild();
  }

  peek(): T | undefined {
    this.dropStale();
    return this.heap.length > 0 ? this.heap[0].item : undefined;
  }

  pop(): T | undefined {
    this.dropStale();
    if (this.heap.length === 0) return undefined;
    const top = this.heap[0].item;
    this.removeTop();
    this.members.delete(top);
    return top;
  }

  [Symbol.iterator](): IterableIterator<T> {
    return this.members.keys();
  }

  /** Members in pop order (for tests and diagnostics; O(n log n)). */
  sorted(): T[] {
    const live = this.heap.filter((e) => this.live(e));
    live.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    return live.map((e) => e.item);
  }

  clear(): void {
    this.members.clear();
    this.heap = [];
  }

  private live(e: Entry<T>): boolean {
    return this.members.get(e.item) === e.seq;
  }

  private dropStale(): void {
    while (this.heap.length > 0 && !this.live(this.heap[0])) this.removeTop();
  }

  private removeTop(): void {
    const last = this.heap.pop()!;
    if (this.heap.length === 0) return;
    this.heap[0] = last;
    this.siftDown(0);
  }

  private rebuild(): void {
    const fresh = this.heap.filter((e) => this.live(e));
    this.heap = fresh;
    for (let i = (fresh.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftUp(i: number): void {
    const h = this.heap;
    const e = h[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(e, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = e;
  }

  private siftDown(i: number): void {
    const h = this.heap;
    const n = h.length;
    const e = h[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(h[r], h[l]) ? r : l;
      if (!before(h[c], e)) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = e;
  }
}
