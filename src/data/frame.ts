/**
 * Frame: a lazy, partitioned table. Partitions are `FramePartition`s (`{ rows, columns: Map }`,
 * columnar typed arrays), the schema (names + dtypes) is known without running anything, and
 * row counts are known wherever the operation preserves them (reads, select, toMatrix,
 * repartition of known counts, synthetic data) and `undefined` after a filter or a
 * row-changing mapPartitions until `persist()` (which counts them) or `count()`.
 */
import type { Client } from "../client/client.js";
import { SkeinError } from "../errors.js";
import { locateFunction } from "../functions/locate.js";
import { Collection, resolveClient, task, type Part, type RunOptions } from "./collection.js";
import { GroupBy, describeFrame } from "./groupby.js";
import { MatrixCollection, XYCollection } from "./matrix-collection.js";
import { checkPartition, concatPartitions, describeSchema, emptyPartition, isNumeric, schemaOf } from "./partition.js";
import {
  concatTask,
  filterTask,
  headTask,
  mapPartitionTask,
  selectTask,
  sliceConcatTask,
  splitPieceTask,
  splitXYTask,
  toMatrixTask,
} from "./tasks.js";
import type { Column, Dtype, FramePartition, Schema } from "./types.js";

const PREFIX = "skein data:";

export interface MapPartitionsOptions {
  /** Schema of fn's output (default: the input schema). Outputs are checked against it. */
  schema?: Schema;
  /** fn keeps the number of rows of each partition, so row counts stay known. Default false. */
  preservesRows?: boolean;
  /** Extra arguments passed after the partition: fn(part, ...args). Plain data or Futures. */
  args?: readonly unknown[];
}

export class Frame extends Collection<FramePartition> {
  constructor(
    parts: readonly Part<FramePartition>[],
    rows: readonly (number | undefined)[],
    readonly schema: Schema,
  ) {
    super(parts, rows);
  }

  get columns(): string[] {
    return this.schema.map((f) => f.name);
  }

  dtype(column: string): Dtype {
    const f = this.schema.find((x) => x.name === column);
    if (!f) throw new SkeinError(`${PREFIX} no column "${column}" (columns: ${this.columns.join(", ")})`);
    return f.dtype;
  }

  protected rebuild(parts: readonly Part<FramePartition>[], rows: readonly (number | undefined)[]): this {
    return new Frame(parts, rows, this.schema) as this;
  }

  protected combine(parts: FramePartition[]): FramePartition {
    return parts.length === 0 ? emptyPartition(this.schema) : concatPartitions(parts, this.schema);
  }

  /**
   * `fn(partition, ...args)` on every partition; `fn` must be an exported function (it runs on
   * the workers) returning a partition of `schema`.
   */
  mapPartitions(fn: (part: FramePartition, ...args: never[]) => FramePartition | Promise<FramePartition>, opts: MapPartitionsOptions = {}): Frame {
    const ref = locateFunction(fn);
    const schema = opts.schema ?? this.schema;
    checkSchema(schema);
    const args = opts.args ?? [];
    const parts = this.parts.map((p, i) => task(mapPartitionTask, p, ref, args, schema, i));
    return new Frame(parts, opts.preservesRows ? this.rows : this.rows.map(() => undefined), schema);
  }

  select(columns: readonly string[]): Frame {
    const schema = columns.map((c) => ({ name: c, dtype: this.dtype(c) }));
    return new Frame(this.parts.map((p) => task(selectTask, p, [...columns])), this.rows, schema);
  }

  /**
   * Keep the rows where `predicate(partition, ...args)` (an exported function) is true: it returns
   * one boolean or 0/1 per row (a Uint8Array, say), so it works on whole columns at once. Row
   * counts become unknown until `persist()` or `count()`.
   */
  filter(predicate: (part: FramePartition, ...args: never[]) => ArrayLike<number | boolean> | Promise<ArrayLike<number | boolean>>, args: readonly unknown[] = []): Frame {
    const ref = locateFunction(predicate);
    const parts = this.parts.map((p, i) => task(filterTask, p, ref, args, i));
    return new Frame(parts, this.rows.map(() => undefined), this.schema);
  }

  /** This frame's partitions followed by the others'. Schemas must be equal. */
  concat(...others: Frame[]): Frame {
    for (const [k, o] of others.entries()) {
      if (describeSchema(o.schema) !== describeSchema(this.schema)) {
        throw new SkeinError(`${PREFIX} concat: frame ${k + 1} has schema (${describeSchema(o.schema)}), frame 0 has (${describeSchema(this.schema)})`);
      }
    }
    return new Frame(
      [...this.parts, ...others.flatMap((o) => o.parts)],
      [...this.rows, ...others.flatMap((o) => o.rows)],
      this.schema,
    );
  }

  /**
   * `n` partitions. With every row count known the rows are spread evenly (sizes differ by at
   * most one, order kept); otherwise, as Dask's `repartition(npartitions)`, neighbouring
   * partitions are concatenated (fewer) or each is cut in near-equal pieces (more).
   */
  repartition(n: number): Frame {
    if (!Number.isInteger(n) || n < 1) throw new SkeinError(`${PREFIX} repartition needs a positive integer, got ${n}`);
    const total = this.knownRows;
    if (total !== undefined) return this.repartitionKnown(n, total);
    const m = this.parts.length;
    if (m === 0) return new Frame([task(concatTask, this.schema)], [0], this.schema);
    if (n <= m) {
      const parts: Part<FramePartition>[] = [];
      for (let j = 0; j < n; j++) {
        const group = this.parts.slice(Math.floor((j * m) / n), Math.floor(((j + 1) * m) / n));
        parts.push(task(concatTask, this.schema, ...group));
      }
      return new Frame(parts, parts.map(() => undefined), this.schema);
    }
    const parts: Part<FramePartition>[] = [];
    for (let i = 0; i < m; i++) {
      const k = Math.floor(((i + 1) * n) / m) - Math.floor((i * n) / m);
      for (let j = 0; j < k; j++) parts.push(task(splitPieceTask, this.parts[i], j, k));
    }
    return new Frame(parts, parts.map(() => undefined), this.schema);
  }

  private repartitionKnown(n: number, total: number): Frame {
    const starts: number[] = [];
    let at = 0;
    for (const r of this.rows) {
      starts.push(at);
      at += r as number;
    }
    const parts: Part<FramePartition>[] = [];
    const rows: number[] = [];
    for (let j = 0; j < n; j++) {
      const lo = Math.floor((j * total) / n);
      const hi = Math.floor(((j + 1) * total) / n);
      const inputs: Part<FramePartition>[] = [];
      const ranges: [number, number][] = [];
      this.parts.forEach((p, i) => {
        const s = starts[i];
        const e = s + (this.rows[i] as number);
        if (e > lo && s < hi) {
          inputs.push(p);
          ranges.push([Math.max(lo, s) - s, Math.min(hi, e) - s]);
        }
      });
      parts.push(task(sliceConcatTask, this.schema, ranges, ...inputs));
      rows.push(hi - lo);
    }
    return new Frame(parts, rows, this.schema);
  }

  /** The first `n` rows, computed from as few leading partitions as needed. */
  async head(n = 5, opts: RunOptions = {}): Promise<FramePartition> {
    const client = resolveClient(opts.client);
    const got: FramePartition[] = [];
    let have = 0;
    for (let i = 0; i < this.parts.length && have < n; i++) {
      if (this.rows[i] === 0) continue;
      const [fut] = client.compute([task(headTask, this.parts[i], n - have)]);
      try {
        const p = await fut.result();
        got.push(p);
        have += p.rows;
      } finally {
        fut.release();
      }
    }
    return got.length ? concatPartitions(got, this.schema) : emptyPartition(this.schema);
  }

  /** Numeric columns (default: all) as one row-major Matrix per partition. */
  toMatrix(columns?: readonly string[]): MatrixCollection {
    const names = columns ? [...columns] : this.numericColumns();
    for (const c of names) if (!isNumeric(this.dtype(c))) throw new SkeinError(`${PREFIX} toMatrix: column "${c}" holds strings, not numbers`);
    return new MatrixCollection(this.parts.map((p) => task(toMatrixTask, p, names)), this.rows, names);
  }

  /** X (the `features`, default every other numeric column) and y (`target`) per partition. */
  splitXY(target: string, features?: readonly string[]): XYCollection {
    if (!isNumeric(this.dtype(target))) throw new SkeinError(`${PREFIX} splitXY: target "${target}" holds strings, not numbers`);
    const names = features ? [...features] : this.numericColumns().filter((c) => c !== target);
    for (const c of names) if (!isNumeric(this.dtype(c))) throw new SkeinError(`${PREFIX} splitXY: column "${c}" holds strings, not numbers`);
    return new XYCollection(this.parts.map((p) => task(splitXYTask, p, names, target)), this.rows, names);
  }

  groupBy(columns: string | readonly string[]): GroupBy {
    const keys = typeof columns === "string" ? [columns] : [...columns];
    for (const k of keys) this.dtype(k);
    return new GroupBy(this, keys);
  }

  /** count, mean, std, min, max of every numeric column: one row per statistic, column "stat" first. */
  describe(): Frame {
    return describeFrame(this);
  }

  private numericColumns(): string[] {
    return this.schema.filter((f) => isNumeric(f.dtype)).map((f) => f.name);
  }

  override toString(): string {
    return `Frame(${this.npartitions} partitions, ${this.knownRows ?? "?"} rows; ${describeSchema(this.schema)})`;
  }
}

const DTYPES = new Set<Dtype>(["float64", "float32", "int32", "int64", "uint64", "bool", "string"]);

export function checkSchema(schema: Schema): void {
  const seen = new Set<string>();
  for (const f of schema) {
    if (!DTYPES.has(f.dtype)) throw new SkeinError(`${PREFIX} column "${f.name}": unknown dtype "${f.dtype}" (use ${[...DTYPES].join(", ")})`);
    if (seen.has(f.name)) throw new SkeinError(`${PREFIX} column "${f.name}" appears twice in the schema`);
    seen.add(f.name);
  }
}

/** A Frame over partitions already in memory on the client, scattered to the workers. */
export async function fromPartitions(partitions: readonly FramePartition[], opts: { schema?: Schema; client?: Client } = {}): Promise<Frame> {
  const client = resolveClient(opts.client);
  if (partitions.length === 0 && !opts.schema) throw new SkeinError(`${PREFIX} fromPartitions: no partitions and no schema`);
  const schema = opts.schema ?? schemaOf(partitions[0]);
  partitions.forEach((p, i) => checkPartition(p, schema, `partition ${i}`));
  const futures = partitions.length ? await client.scatterMany([...partitions]) : [];
  return new Frame(futures, partitions.map((p) => p.rows), schema);
}

/** A partition from named columns (all of one length). */
export function makePartition(columns: Record<string, Column> | Map<string, Column>): FramePartition {
  const map = columns instanceof Map ? new Map(columns) : new Map(Object.entries(columns));
  const lengths = [...map.values()].map((c) => c.length);
  const rows = lengths.length ? lengths[0] : 0;
  for (const [name, c] of map) {
    if (c.length !== rows) throw new SkeinError(`${PREFIX} column "${name}" has ${c.length} values, the first column ${rows}`);
  }
  return { rows, columns: map };
}
