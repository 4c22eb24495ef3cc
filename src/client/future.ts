/**
 * A Future is a client-side handle on one key of the cluster. Several Future objects may share a
 * key; the client counts them and tells the scheduler when the last one is released (explicitly
 * or by garbage collection).
 */
import type { Key } from "../graph/spec.js";

export type FutureStatus = "pending" | "finished" | "error" | "cancelled";

/** Client-side knowledge about one key, shared by every Future on it. */
export class KeyRecord {
  status: FutureStatus = "pending";
  hasValue = false;
  value: unknown = undefined;
  error: Error | undefined = undefined;
  /** Live Future objects on this key. */
  refs = 0;
  /** Called once, on the next change of status (finished, error, cancelled). */
  private listeners: (() => void)[] | undefined;
  constructor(readonly key: Key) {}

  get done(): boolean {
    return this.status !== "pending";
  }

  onDone(fn: () => void): void {
    if (this.done) {
      fn();
      return;
    }
    (this.listeners ??= []).push(fn);
  }

  settle(status: Exclude<FutureStatus, "pending">, value?: unknown, hasValue = false, error?: Error): void {
    this.status = status;
    if (status === "finished") {
      this.hasValue = hasValue;
      this.value = hasValue ? value : undefined;
      this.error = undefined;
    } else {
      this.hasValue = false;
      this.value = undefined;
      this.error = error;
    }
    const ls = this.listeners;
    this.listeners = undefined;
    if (ls) for (const fn of ls) fn();
  }

  /** Back to pending (the value was lost and will be recomputed). */
  reset(): void {
    this.status = "pending";
    this.hasValue = false;
    this.value = undefined;
  }
}

/** What a Future needs from its client; keeps this module free of the Client's imports. */
export interface FutureHost {
  resultOf(record: KeyRecord): Promise<unknown>;
  cancelKeys(keys: Key[]): Promise<void>;
  releaseRef(record: KeyRecord): void;
  trackFuture(future: Future<unknown>, record: KeyRecord): void;
  untrackFuture(future: Future<unknown>): void;
}

function keepAlive(_f: Future<unknown>): void {}

/**
 * Not a thenable on purpose: a thenable returned from an async function (or resolved into a
 * promise) is unwrapped by JavaScript, so `async () => client.scatter(x)` would hand back the
 * value instead of the Future. Use `await fut.result()`.
 */
export class Future<T = unknown> {
  private released = false;

  /** @internal created by the Client */
  constructor(
    readonly record: KeyRecord,
    private readonly host: FutureHost,
  ) {
    record.refs++;
    host.trackFuture(this as Future<unknown>, record);
  }

  get key(): Key {
    return this.record.key;
  }

  get status(): FutureStatus {
    return this.record.status;
  }

  done(): boolean {
    return this.record.done;
  }

  /** The task's value; rejects with a TaskError (remote stack attached) or a CancelledError. */
  result(): Promise<T> {
    if (this.released) return Promise.reject(new Error(`skein: future "${this.key}" was released`));
    const p = this.host.resultOf(this.record) as Promise<T>;
    if (this.record.done && this.record.hasValue) return p;
    // `await client.submit(f, x).result()` keeps no reference to the Future itself: without this, it
    // could be garbage-collected while awaited and its key released before the result arrives.
    // The callback below is reachable from the record (through the waiting promise), and the
    // record from the client, so the Future lives at least as long as the wait.
    return p.then((value) => {
      keepAlive(this);
      return value;
    });
  }

  /** The error the task failed with, or undefined once it finished well. */
  async exception(): Promise<Error | undefined> {
    try {
      await this.result();
      return undefined;
    } catch (err) {
      return err as Error;
    }
  }

  cancel(): Promise<void> {
    return this.host.cancelKeys([this.key]);
  }

  /** Drop this handle; the key is released on the cluster when no handle is left. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.host.untrackFuture(this as Future<unknown>);
    this.host.releaseRef(this.record);
  }

  toString(): string {
    return `<Future ${this.key} ${this.status}>`;
  }
}
