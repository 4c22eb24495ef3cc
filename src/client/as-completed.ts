/**
 * asCompleted: iterate futures in the order they finish, adding more while iterating.
 */
import type { Future } from "./future.js";

export interface AsCompletedOptions {
  /** Yield `[future, value]` pairs instead of futures. */
  withResults?: boolean;
  /** With `withResults`, yield `[future, error]` for failed futures instead of throwing. Default true (throw). */
  raiseErrors?: boolean;
}

/** `Item` is `Future<T>`, or `[Future<T>, T]` with `withResults`. */
export class AsCompleted<T = unknown, Item = Future<T>> implements AsyncIterable<Item> {
  private readonly completed: Future<T>[] = [];
  private head = 0;
  private pending = 0;
  private wake: (() => void) | undefined;

  constructor(
    futures: Iterable<Future<T>> = [],
    private readonly opts: AsCompletedOptions = {},
  ) {
    for (const f of futures) this.add(f);
  }

  /** Add a future to the set being iterated; it is yielded once it completes. */
  add(future: Future<T>): void {
    this.pending++;
    future.record.onDone(() => {
      this.pending--;
      this.completed.push(future);
      const w = this.wake;
      this.wake = undefined;
      w?.();
    });
  }

  update(futures: Iterable<Future<T>>): void {
    for (const f of futures) this.add(f);
  }

  /** Futures added but not yet yielded. */
  count(): number {
    return this.pending + this.completed.length - this.head;
  }

  isEmpty(): boolean {
    return this.count() === 0;
  }

  private async nextBatch(): Promise<Future<T>[] | undefined> {
    while (this.head === this.completed.length) {
      if (this.pending === 0) return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    const batch = this.completed.slice(this.head);
    this.completed.length = 0;
    this.head = 0;
    return batch;
  }

  private async resolveItem(f: Future<T>): Promise<Item> {
    if (!this.opts.withResults) return f as Item;
    try {
      return [f, await f.result()] as Item;
    } catch (err) {
      if (this.opts.raiseErrors === false) return [f, err] as Item;
      throw err;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Item> {
    for (;;) {
      const batch = await this.nextBatch();
      if (!batch) return;
      for (const f of batch) yield await this.resolveItem(f);
    }
  }

  /** Everything that completed since the last batch, as one array (waits for at least one). */
  async *batches(): AsyncGenerator<Item[]> {
    for (;;) {
      const batch = await this.nextBatch();
      if (!batch) return;
      if (!this.opts.withResults) {
        yield batch as Item[];
        continue;
      }
      yield await Promise.all(batch.map((f) => this.resolveItem(f)));
    }
  }
}
