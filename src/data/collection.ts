/**
 * The lazy partitioned collection every skein/data type builds on: a list of partitions, each a
 * Delayed (a task not yet run) or a Future (a result held by a worker), plus per-partition row
 * counts where they are known. Operations add tasks; `compute`, `persist`, `count` and
 * `toFutures` are the only calls that run anything.
 */
import { Client } from "../client/client.js";
import { Future } from "../client/future.js";
import { SkeinError } from "../errors.js";
import { Delayed, delayed, getDefaultComputer } from "../graph/delayed.js";
import { rowsOf } from "./tasks.js";

/** A partition: a task to run, or a result on the cluster. */
export type Part<P> = Delayed<P> | Future<P>;

/** The client to run on: the one given, else the most recently connected one. */
export function resolveClient(client?: Client): Client {
  const c = client ?? getDefaultComputer();
  if (!(c instanceof Client) || c.closed) {
    throw new SkeinError("skein data: no connected client; call Client.connect() first or pass { client }");
  }
  return c;
}

type AnyFn = (...args: never[]) => unknown;
const wrappers = new Map<AnyFn, (...args: never[]) => Delayed<unknown>>();

/** `delayed(fn)(...args)`, with the wrapper (and its function lookup) made once per function. */
export function task<R>(fn: (...args: never[]) => R, ...args: unknown[]): Delayed<Awaited<R>> {
  let w = wrappers.get(fn);
  if (!w) {
    w = delayed(fn as (...a: unknown[]) => unknown) as (...args: never[]) => Delayed<unknown>;
    wrappers.set(fn, w);
  }
  return (w as (...a: unknown[]) => Delayed<unknown>)(...args) as Delayed<Awaited<R>>;
}

/** Options of the calls that run something. */
export interface RunOptions {
  /** Default: the most recently connected client. */
  client?: Client;
}

export abstract class Collection<P> {
  protected constructor(
    /** One entry per partition. */
    readonly parts: readonly Part<P>[],
    /** Rows (records) per partition; `undefined` until known (after a filter, say). */
    readonly rows: readonly (number | undefined)[],
  ) {
    if (parts.length !== rows.length) throw new SkeinError(`skein data: ${parts.length} partitions but ${rows.length} row counts`);
  }

  get npartitions(): number {
    return this.parts.length;
  }

  /** Total rows when every partition's count is known, else undefined (see `count()`). */
  get knownRows(): number | undefined {
    let n = 0;
    for (const r of this.rows) {
      if (r === undefined) return undefined;
      n += r;
    }
    return n;
  }

  /** The same kind of collection over other partitions. */
  protected abstract rebuild(parts: readonly Part<P>[], rows: readonly (number | undefined)[]): this;

  /** One value from the partitions brought to the client, in order (may be zero of them). */
  protected abstract combine(parts: P[]): P;

  /**
   * Start every partition and return one Future per partition, in order. A partition that
   * fails rejects only its own Future; the others keep their results.
   */
  toFutures(opts: RunOptions = {}): Future<P>[] {
    const client = resolveClient(opts.client);
    const lazy: Delayed<P>[] = [];
    for (const p of this.parts) if (p instanceof Delayed) lazy.push(p);
    const started = lazy.length ? client.compute(lazy) : [];
    let k = 0;
    return this.parts.map((p) => (p instanceof Delayed ? started[k++] : p));
  }

  /**
   * Run every partition and keep the results on the workers. Resolves (once all are in memory)
   * to a collection over those Futures, with every row count known. Rejects with the first
   * failed partition's error.
   */
  async persist(opts: RunOptions = {}): Promise<this> {
    const client = resolveClient(opts.client);
    const futures = this.toFutures({ client });
    const rows = await this.countsOf(client, futures);
    return this.rebuild(futures, rows);
  }

  /** Bring every partition to the client and combine them into one value. */
  async compute(opts: RunOptions = {}): Promise<P> {
    const client = resolveClient(opts.client);
    const futures = this.toFutures({ client });
    try {
      return this.combine(await client.gather(futures));
    } finally {
      for (const f of futures.filter((_, i) => this.parts[i] instanceof Delayed)) f.release();
    }
  }

  /** Total rows. Known counts are summed on the client; unknown ones run a small task each. */
  async count(opts: RunOptions = {}): Promise<number> {
    const known = this.knownRows;
    if (known !== undefined) return known;
    const client = resolveClient(opts.client);
    const rows = await this.countsOf(client, this.parts);
    let n = 0;
    for (const r of rows) n += r;
    return n;
  }

  /** Row counts of `parts` (this collection's, or Futures on them), running tasks for unknown ones. */
  private async countsOf(client: Client, parts: readonly Part<P>[]): Promise<number[]> {
    const unknown: number[] = [];
    this.rows.forEach((r, i) => r === undefined && unknown.push(i));
    const counters = unknown.map((i) => task(rowsOf, parts[i]));
    const counted = counters.length ? client.compute(counters) : [];
    try {
      const values = await client.gather(counted);
      const rows = this.rows.slice() as number[];
      unknown.forEach((i, k) => (rows[i] = values[k]));
      // Known counts still need their partitions to have finished (and not failed).
      const futures = parts.filter((p): p is Future<P> => p instanceof Future);
      await client.wait(futures);
      for (const f of futures) if (f.status === "error" || f.status === "cancelled") await f.result();
      return rows;
    } finally {
      for (const f of counted) f.release();
    }
  }
}
