/**
 * Bag: a lazy partitioned collection of records (any plain values), for the cleaning and
 * counting people do before there is a table: `readJsonLines` / `readText`, per-record `map`,
 * `filter` and `pluck`, `take`, `count`, `frequencies`, `foldBy`, and `toFrame`. Functions
 * given to map / filter / foldBy must be exported (they run on the workers, once per record).
 */
import { stat } from "node:fs/promises";
import { SkeinError } from "../errors.js";
import { locateFunction } from "../functions/locate.js";
import type { FnRef } from "../graph/spec.js";
import {
  bagFilterTask,
  bagMapTask,
  countsToPairsTask,
  flattenTask,
  foldByCombineTask,
  foldByPartialTask,
  frequenciesTask,
  mapToPairsTask,
  mergeCountsTask,
  pluckTask,
  readJsonLinesTask,
  readTextTask,
  recordsToFrameTask,
  takeTask,
  type TextBlockSpec,
} from "./bag-tasks.js";
import { Collection, resolveClient, task, type Part, type RunOptions } from "./collection.js";
import { parseBytes } from "./csv.js";
import { checkSchema, Frame } from "./frame.js";
import { listFiles } from "./glob.js";
import type { Dtype, Schema } from "./types.js";

const FAN_IN = 8;

function tree<M>(parts: readonly Part<M>[], merge: (...p: Part<M>[]) => Part<M>): Part<M> {
  let level = [...parts];
  if (level.length === 0) return merge();
  while (level.length > 1) {
    const next: Part<M>[] = [];
    for (let i = 0; i < level.length; i += FAN_IN) next.push(merge(...level.slice(i, i + FAN_IN)));
    level = next;
  }
  return level[0];
}

export class Bag<T> extends Collection<T[]> {
  constructor(parts: readonly Part<T[]>[], rows?: readonly (number | undefined)[]) {
    super(parts, rows ?? parts.map(() => undefined));
  }

  protected rebuild(parts: readonly Part<T[]>[], rows: readonly (number | undefined)[]): this {
    return new Bag<T>(parts, rows) as this;
  }

  protected combine(parts: T[][]): T[] {
    return parts.flat(1) as T[];
  }

  /** `fn(record, ...args)` for every record. */
  map<U>(fn: (record: T, ...args: never[]) => U, args: readonly unknown[] = []): Bag<U> {
    const ref = locateFunction(fn);
    return new Bag<U>(this.parts.map((p) => task(bagMapTask, p, ref, args)) as Part<U[]>[], this.rows);
  }

  /** The records for which `fn(record, ...args)` is truthy. */
  filter(fn: (record: T, ...args: never[]) => unknown, args: readonly unknown[] = []): Bag<T> {
    const ref = locateFunction(fn);
    return new Bag<T>(this.parts.map((p) => task(bagFilterTask, p, ref, args)) as Part<T[]>[]);
  }

  /** `record[key]` of every record (`fallback`, default null, where it is missing). */
  pluck<K extends keyof T & (string | number)>(key: K, fallback: unknown = null): Bag<T[K]> {
    return new Bag<T[K]>(this.parts.map((p) => task(pluckTask, p, key, fallback)) as Part<T[K][]>[], this.rows);
  }

  /** The first `n` records of the first partition (as Dask's take with npartitions=1). */
  async take(n: number, opts: RunOptions = {}): Promise<T[]> {
    if (this.parts.length === 0) return [];
    const client = resolveClient(opts.client);
    const [f] = client.compute([task(takeTask, this.parts[0], n)]);
    try {
      return (await f.result()) as T[];
    } finally {
      f.release();
    }
  }

  /** `[value, count]` pairs, most frequent first: a Bag of one partition. */
  frequencies(): Bag<[T, number]> {
    const partials = this.parts.map((p) => task(frequenciesTask, p));
    const root = tree(partials, (...ps) => task(mergeCountsTask, ...ps));
    return new Bag<[T, number]>([task(countsToPairsTask, root)] as Part<[T, number][]>[]);
  }

  /**
   * Group by `key` (a property name or an exported function of the record) and fold each group:
   * `binop(acc, record)` from `initial` within a partition, then `combine(acc, acc)` from
   * `combineInitial` across partitions (default: binop and initial, for folds whose accumulator
   * is a record's kind). A Bag of `[key, value]` pairs in one partition.
   */
  foldBy<K, A>(
    key: string | ((record: T) => K),
    binop: (acc: A, record: T) => A,
    initial: A,
    combine?: (a: A, b: A) => A,
    combineInitial?: A,
  ): Bag<[K, A]> {
    const keyRef: string | FnRef = typeof key === "string" ? key : locateFunction(key);
    const binRef = locateFunction(binop);
    const combRef = combine ? locateFunction(combine) : binRef;
    const init2 = combine ? (combineInitial ?? initial) : initial;
    const partials = this.parts.map((p) => task(foldByPartialTask, p, keyRef, binRef, initial));
    const root = tree(partials, (...ps) => task(foldByCombineTask, combRef, init2, ...ps));
    return new Bag<[K, A]>([task(mapToPairsTask, root)] as Part<[K, A][]>[]);
  }

  /** All records in one partition. */
  flatten(): Bag<T> {
    return new Bag<T>([task(flattenTask, ...this.parts)] as Part<T[]>[], [this.knownRows]);
  }

  /**
   * A Frame of the records' fields: `columns` maps names to dtypes (a list of names means
   * float64 for all). Missing fields are NaN (numbers) or null (strings).
   */
  toFrame(columns: Readonly<Record<string, Dtype>> | readonly string[]): Frame {
    const schema: Schema = Array.isArray(columns)
      ? (columns as readonly string[]).map((name) => ({ name, dtype: "float64" as const }))
      : Object.entries(columns as Record<string, Dtype>).map(([name, dtype]) => ({ name, dtype }));
    checkSchema(schema);
    return new Frame(this.parts.map((p) => task(recordsToFrameTask, p, schema)), this.rows, schema);
  }
}

export interface ReadTextOptions {
  /** Bytes per partition ("64MB"...). Default: one partition per file. */
  blocksize?: number | string;
}

async function blocks(path: string | readonly string[], opts: ReadTextOptions): Promise<TextBlockSpec[]> {
  const { files } = await listFiles(path);
  const bs = opts.blocksize === undefined ? undefined : parseBytes(opts.blocksize);
  if (bs !== undefined && !(bs >= 1)) throw new SkeinError(`skein data: blocksize must be at least 1 byte, got ${opts.blocksize}`);
  const out: TextBlockSpec[] = [];
  for (const path of files) {
    const size = (await stat(path)).size;
    const step = bs ?? Math.max(size, 1);
    for (let start = 0; start < Math.max(size, 1); start += step) out.push({ path, start, end: bs === undefined ? Infinity : start + step });
  }
  return out;
}

/** Lines of text files (without their newlines), one partition per file or block. */
export async function readText(path: string | readonly string[], opts: ReadTextOptions = {}): Promise<Bag<string>> {
  return new Bag<string>((await blocks(path, opts)).map((s) => task(readTextTask, s)));
}

/** One record per line of JSON-lines files; a bad line fails its partition naming the file and line. */
export async function readJsonLines<T = unknown>(path: string | readonly string[], opts: ReadTextOptions = {}): Promise<Bag<T>> {
  return new Bag<T>((await blocks(path, opts)).map((s) => task(readJsonLinesTask, s)) as Part<T[]>[]);
}

/** A Bag over records held by the client, split in `npartitions` (scattered to the workers). */
export async function bagFromRecords<T>(records: readonly T[], opts: { npartitions?: number } & RunOptions = {}): Promise<Bag<T>> {
  const client = resolveClient(opts.client);
  const n = Math.max(1, opts.npartitions ?? 1);
  const chunks: T[][] = [];
  for (let i = 0; i < n; i++) chunks.push(records.slice(Math.floor((i * records.length) / n), Math.floor(((i + 1) * records.length) / n)));
  const futures = await client.scatterMany(chunks);
  return new Bag<T>(futures, chunks.map((c) => c.length));
}
