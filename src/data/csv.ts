/**
 * readCsv, for users coming from `dd.read_csv`: one partition per file, or per `blocksize`
 * bytes of each file (blocks are aligned on lines by the workers). The client reads the header
 * and a sample of the first file to name the columns and infer dtypes: a column whose sampled
 * values all parse as numbers is float64 (empty fields are NaN), any other is string (empty
 * fields are null). Row counts are unknown until `persist()` / `count()`.
 */
import { open, stat } from "node:fs/promises";
import { SkeinError } from "../errors.js";
import { task, type Part } from "./collection.js";
import { readCsvTask, splitLine, type CsvBlockSpec } from "./csv-tasks.js";
import { checkSchema, Frame } from "./frame.js";
import { listFiles } from "./glob.js";
import type { Dtype, FramePartition } from "./types.js";

export interface ReadCsvOptions {
  /** Bytes per partition (a number, or "64MB", "256KiB"...). Default: one partition per file. */
  blocksize?: number | string;
  /** Field separator. Default ",". */
  delimiter?: string;
  /** The first line holds column names. Default true. */
  header?: boolean;
  /** Column names when there is no header (default "c0", "c1", ...). */
  names?: readonly string[];
  /** Columns to return, in this order. Default: all. */
  columns?: readonly string[];
  /** Dtypes of some columns, overriding inference. */
  dtypes?: Readonly<Record<string, Dtype>>;
}

const SAMPLE = 1 << 16;
const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

export function parseBytes(v: number | string): number {
  if (typeof v === "number") return v;
  const m = /^\s*([\d.]+)\s*([a-z]*)\s*$/i.exec(v);
  const unit = m ? UNITS[(m[2] || "b").toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new SkeinError(`skein data: cannot read ${JSON.stringify(v)} as a size (e.g. 64MB, 256KiB)`);
  return Math.round(Number(m[1]) * unit);
}

async function sample(path: string): Promise<string[]> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.allocUnsafe(SAMPLE);
    const { bytesRead } = await fh.read(buf, 0, SAMPLE, 0);
    const lines = buf.subarray(0, bytesRead).toString("utf8").split("\n");
    if (bytesRead === SAMPLE) lines.pop(); // probably cut
    return lines.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l)).filter((l) => l.trim() !== "");
  } finally {
    await fh.close();
  }
}

export async function readCsv(path: string | readonly string[], opts: ReadCsvOptions = {}): Promise<Frame> {
  const delimiter = opts.delimiter ?? ",";
  const header = opts.header ?? true;
  const { files } = await listFiles(path, (name) => /\.(csv|tsv|txt)$/i.test(name));
  const lines = await sample(files[0]);
  const fields: string[] = [];
  const width = lines.length ? splitLine(lines[0], delimiter, fields).length : (opts.names?.length ?? 0);
  const names = header ? [...splitLine(lines[0] ?? "", delimiter, [])] : opts.names ? [...opts.names] : Array.from({ length: width }, (_, i) => `c${i}`);
  if (names.length === 0 || (names.length === 1 && names[0] === "")) throw new SkeinError(`skein data: ${files[0]} has no header line`);
  const body = header ? lines.slice(1) : lines;
  const inferred: Dtype[] = names.map((_, c) => {
    for (const l of body) {
      const v = splitLine(l, delimiter, fields)[c];
      if (v !== undefined && v.trim() !== "" && Number.isNaN(Number(v))) return "string";
    }
    return "float64";
  });
  const wanted = opts.columns ? [...opts.columns] : names;
  const use = wanted.map((n) => {
    const i = names.indexOf(n);
    if (i < 0) throw new SkeinError(`skein data: readCsv: no column "${n}" in ${files[0]} (columns: ${names.join(", ")})`);
    return i;
  });
  const dtypes = use.map((i) => opts.dtypes?.[names[i]] ?? inferred[i]);
  const schema = wanted.map((name, c) => ({ name, dtype: dtypes[c] }));
  checkSchema(schema);
  const blocksize = opts.blocksize === undefined ? undefined : parseBytes(opts.blocksize);
  if (blocksize !== undefined && !(blocksize >= 1)) throw new SkeinError(`skein data: blocksize must be at least 1 byte, got ${opts.blocksize}`);

  const parts: Part<FramePartition>[] = [];
  for (const file of files) {
    const size = (await stat(file)).size;
    const step = blocksize ?? Math.max(size, 1);
    for (let start = 0; start < Math.max(size, 1); start += step) {
      const spec: CsvBlockSpec = { path: file, start, end: blocksize === undefined ? Infinity : start + step, header, delimiter, names, use, dtypes };
      parts.push(task(readCsvTask, spec));
    }
  }
  return new Frame(parts, parts.map(() => undefined), schema);
}
