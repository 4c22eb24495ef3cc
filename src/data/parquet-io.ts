/**
 * readParquet / writeParquet. The client reads only footers: it plans one partition per
 * `rowGroupsPerPartition` row groups of each file, skips row groups whose min/max statistics
 * prove a filter false, and files whose hive values do; the workers read the row groups.
 */
import { closeSync, openSync } from "node:fs";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve, parse as parsePath } from "node:path";
import type { Client } from "../client/client.js";
import { SkeinError } from "../errors.js";
import { delayed } from "../graph/delayed.js";
import { resolveClient, task, type Part } from "./collection.js";
import { toClauses, matches } from "./filter-rows.js";
import { Frame } from "./frame.js";
import { hivePairs, listFiles } from "./glob.js";
import { defaultCompression, writableCompressions } from "./parquet/compress.js";
import { ParquetError } from "./parquet/errors.js";
import { selectRowGroups } from "./parquet/filters.js";
import { footerForRowGroups, readFooter } from "./parquet/footer.js";
import type { FilterTriple, Filters, ParquetColumnInfo, ParquetFileInfo, WriteCompression } from "./parquet/types.js";
import { readParquetTask, writeParquetTask, type ParquetPartSpec, type WrittenFile } from "./parquet-tasks.js";
import type { Dtype, Field, FramePartition } from "./types.js";

export interface ReadParquetOptions {
  /** Columns to read (file columns and hive columns), in this order. Default: all. */
  columns?: readonly string[];
  /** Consecutive row groups of one file per partition. Default 1. */
  rowGroupsPerPartition?: number;
  /**
   * `[column, op, value]` triples (AND), or a list of such lists (OR of ANDs), as pyarrow's.
   * Row groups and hive folders that cannot match are skipped on the client; the rows read are
   * filtered on the workers (row counts then become unknown until `persist()` / `count()`).
   */
  filters?: Filters;
  /** Hive-style `key=value` folders become columns. Default true. */
  hive?: boolean;
}

/** The Frame dtype of a Parquet column (see parquet/columns.ts for what the reader returns). */
export function dtypeOfParquet(col: ParquetColumnInfo, file: string): Dtype {
  if (col.nested) throw new ParquetError(file, `column "${col.name}" is nested; skein reads flat columns only (choose columns with { columns })`);
  const lt = col.logicalType;
  switch (col.physicalType) {
    case "DOUBLE":
    case "FLOAT":
    case "INT64":
    case "FIXED_LEN_BYTE_ARRAY":
      return "float64";
    case "INT32":
      if (col.nullable || lt?.type === "DECIMAL" || (lt?.type === "INTEGER" && lt.isSigned === false && lt.bitWidth === 32)) return "float64";
      return "int32";
    case "BOOLEAN":
      return col.nullable ? "float64" : "bool";
    case "BYTE_ARRAY":
      return "string";
    default:
      throw new ParquetError(file, `column "${col.name}" has physical type ${col.physicalType}, which skein does not read`);
  }
}

const POOL = 16;
/** Opening a file faster than this means a local disk. */
const LOCAL_OPEN_MS = 1;

/**
 * Footers of every file, on the client before planning. Local files are read with blocking
 * calls, which take a third of the time of libuv's thread pool on a busy client; when opening
 * the first file shows a slow filesystem, up to POOL reads at a time hide its latency.
 */
async function readFooters(files: readonly string[]): Promise<ParquetFileInfo[]> {
  const out: ParquetFileInfo[] = new Array(files.length);
  if (files.length > 0 && isLocal(files[0])) {
    for (let i = 0; i < files.length; i++) out[i] = await readFooter(files[i], { sync: true });
    return out;
  }
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const i = next++;
      out[i] = await readFooter(files[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(POOL, files.length) }, worker));
  return out;
}

function isLocal(file: string): boolean {
  const t0 = performance.now();
  try {
    closeSync(openSync(file, "r"));
  } catch {
    return false; // readFooter reports what is wrong
  }
  return performance.now() - t0 < LOCAL_OPEN_MS;
}

function hiveValue(raw: string, numeric: boolean): string | number {
  return numeric ? Number(raw) : raw;
}

/** Read Parquet files (a file, a directory, a glob, or a list of them) into a Frame. */
export async function readParquet(path: string | readonly string[], opts: ReadParquetOptions = {}): Promise<Frame> {
  const per = opts.rowGroupsPerPartition ?? 1;
  if (!Number.isInteger(per) || per < 1) throw new SkeinError(`skein data: rowGroupsPerPartition must be a positive integer, got ${per}`);
  const { files, base } = await listFiles(path, (name) => name.endsWith(".parquet") || name.endsWith(".parq"));
  const infos = await readFooters(files);

  // Hive columns: the same keys in every file; numeric when every value is a number.
  const pairs = files.map((f) => (opts.hive === false ? [] : hivePairs(base, f)));
  const hiveNames = pairs[0].map(([k]) => k);
  pairs.forEach((ps, i) => {
    if (ps.map(([k]) => k).join("/") !== hiveNames.join("/")) {
      throw new SkeinError(`skein data: ${files[i]}: hive folders (${ps.map(([k]) => k).join("/") || "none"}) differ from ${files[0]}'s (${hiveNames.join("/") || "none"})`);
    }
  });
  const hiveNumeric = hiveNames.map((_, c) => pairs.every((ps) => ps[c][1] !== "" && Number.isFinite(Number(ps[c][1]))));

  // File schema: from the first file, unified over the others (int32 + float64 -> float64).
  const fileFields = new Map<string, Dtype>();
  for (const col of infos[0].columns) {
    if (opts.columns && !opts.columns.includes(col.name)) continue;
    fileFields.set(col.name, dtypeOfParquet(col, files[0]));
  }
  infos.forEach((info, i) => {
    for (const [name, dt] of fileFields) {
      const col = info.columns.find((c) => c.name === name);
      if (!col) throw new ParquetError(files[i], `has no column "${name}" (${files[0]} has it)`);
      const d = dtypeOfParquet(col, files[i]);
      if (d === dt) continue;
      if (d !== "string" && dt !== "string") fileFields.set(name, "float64");
      else throw new ParquetError(files[i], `column "${name}" is ${d}, in ${files[0]} it is ${dt}`);
    }
  });
  const hiveFields: Field[] = hiveNames.map((name, c) => ({ name, dtype: hiveNumeric[c] ? "float64" : "string" }));
  let schema: Field[] = [...[...fileFields].map(([name, dtype]) => ({ name, dtype })), ...hiveFields.filter((f) => !fileFields.has(f.name))];
  if (opts.columns) {
    const byName = new Map(schema.map((f) => [f.name, f] as const));
    schema = opts.columns.map((c) => {
      const f = byName.get(c);
      if (!f) throw new SkeinError(`skein data: readParquet: no column "${c}" (columns: ${[...byName.keys()].join(", ")})`);
      return f;
    });
  }

  const clauses = toClauses(opts.filters);
  const allNames = new Set([...infos[0].columns.map((c) => c.name), ...hiveNames]);
  for (const clause of clauses) {
    for (const t of clause) {
      if (!Array.isArray(t) || t.length !== 3) throw new SkeinError(`skein data: filter ${JSON.stringify(t)} is not a [column, op, value] triple`);
      if (!allNames.has(t[0])) throw new SkeinError(`skein data: filter on unknown column "${t[0]}" (columns: ${[...allNames].join(", ")})`);
    }
  }
  const filterCols = new Set(clauses.flatMap((c) => c.map((t) => t[0])));

  const parts: Part<FramePartition>[] = [];
  const rows: (number | undefined)[] = [];
  files.forEach((file, i) => {
    const info = infos[i];
    // A file column wins over a hive folder of the same name.
    const hive: [string, string | number][] = pairs[i]
      .map(([k, v], c): [string, string | number] => [k, hiveValue(v, hiveNumeric[c])])
      .filter(([k]) => !fileFields.has(k) && !infos[i].columns.some((col) => col.name === k));
    const hiveOf = new Map(hive);
    // Clauses still possible for this file, with the hive triples (now decided) removed.
    const live: FilterTriple[][] = [];
    for (const clause of clauses) {
      if (clause.some((t) => hiveOf.has(t[0]) && !matches(hiveOf.get(t[0]), t[1], t[2]))) continue;
      live.push(clause.filter((t) => !hiveOf.has(t[0])));
    }
    if (clauses.length && live.length === 0) return;
    const unfiltered = clauses.length === 0 || live.some((c) => c.length === 0);
    const groups = unfiltered ? info.rowGroups.filter((g) => g.numRows > 0).map((g) => g.index) : selectRowGroups(info, live);
    const read = [...fileFields.keys()].filter((c) => schema.some((f) => f.name === c));
    for (const c of filterCols) if (!hiveOf.has(c) && !read.includes(c)) read.push(c);
    for (let k = 0; k < groups.length; k += per) {
      const rowGroups = groups.slice(k, k + per);
      const spec: ParquetPartSpec = { path: file, info: footerForRowGroups(info, rowGroups), rowGroups, read, hive, clauses: unfiltered ? [] : live, schema };
      parts.push(task(readParquetTask, spec));
      let n = 0;
      for (const g of rowGroups) n += info.rowGroups[g].numRows;
      rows.push(unfiltered ? n : undefined);
    }
  });
  return new Frame(parts, rows, schema);
}

export interface WriteParquetFrameOptions {
  /** Page compression (default "snappy"). */
  compression?: WriteCompression;
  /** Rows per row group (default 131072). */
  rowGroupSize?: number;
  /** Replace an existing non-empty directory (its contents are deleted first). Default false. */
  overwrite?: boolean;
  client?: Client;
}

let writeTask: ReturnType<typeof delayed<[FramePartition, string, object], WrittenFile>> | undefined;

/**
 * Write one file per partition, `dir/part-00000.parquet` and on, each by the worker holding
 * the partition, atomically (temporary name, then rename). Resolves to the files written;
 * rejects with the first failed partition's error once every partition has finished.
 */
export async function writeParquet(frame: Frame, dir: string, opts: WriteParquetFrameOptions = {}): Promise<WrittenFile[]> {
  const client = resolveClient(opts.client);
  const compression = opts.compression ?? defaultCompression;
  if (!writableCompressions.includes(compression)) {
    throw new SkeinError(
      `skein data: writeParquet: compression "${compression}" is not available here (use one of ${writableCompressions.join(", ")})`,
    );
  }
  const abs = resolve(dir);
  let entries: string[] | undefined;
  try {
    const st = await stat(abs);
    if (!st.isDirectory()) throw new SkeinError(`skein data: writeParquet: ${abs} exists and is not a directory`);
    entries = await readdir(abs);
  } catch (err) {
    if (err instanceof SkeinError) throw err;
  }
  if (entries && entries.length > 0) {
    if (!opts.overwrite) {
      throw new SkeinError(`skein data: writeParquet: output directory ${abs} is not empty (${entries.length} entries); pass overwrite: true to replace it`);
    }
    if (abs === parsePath(abs).root || abs === resolve(process.cwd()) || abs === homedir()) {
      throw new SkeinError(`skein data: writeParquet: refusing to overwrite ${abs}`);
    }
    await rm(abs, { recursive: true, force: true });
  }
  await mkdir(abs, { recursive: true });
  const options = { compression, ...(opts.rowGroupSize !== undefined ? { rowGroupSize: opts.rowGroupSize } : {}) };
  writeTask ??= delayed(writeParquetTask as (p: FramePartition, path: string, o: object) => Promise<WrittenFile>, { pure: false });
  const w = writeTask;
  const writes = frame.parts.map((p, i) => w(p, join(abs, `part-${String(i).padStart(5, "0")}.parquet`), options));
  const futures = writes.length ? client.compute(writes) : [];
  try {
    await client.wait(futures);
    return await client.gather(futures);
  } finally {
    for (const f of futures) f.release();
  }
}
