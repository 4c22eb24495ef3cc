/**
 * Worker side of readCsv: read one byte block of a file, aligned on lines (a line belongs to the
 * block holding its first byte), and parse it into columns. Quoted fields ("a, b", "say ""hi""")
 * are handled; a quoted field holding a newline is not (as with Dask's blocks).
 */
import { open } from "node:fs/promises";
import { SkeinError } from "../errors.js";
import type { Column, Dtype, FramePartition } from "./types.js";

export interface CsvBlockSpec {
  path: string;
  start: number;
  /** Lines starting before `end` belong to this block; Infinity for the whole file. */
  end: number;
  /** Skip the first line of the file (the header). */
  header: boolean;
  delimiter: string;
  /** Every column of the file, in order. */
  names: string[];
  /** Indices (into names) of the columns to return, with their dtypes. */
  use: number[];
  dtypes: Dtype[];
}

const CHUNK = 1 << 16;

export async function readBlock(spec: { path: string; start: number; end: number }): Promise<string> {
  const fh = await open(spec.path, "r").catch((err: NodeJS.ErrnoException) => {
    throw new SkeinError(`skein data: cannot open ${spec.path} (${err.code ?? err.message})`);
  });
  try {
    const size = (await fh.stat()).size;
    const end = Math.min(spec.end, size);
    let from = spec.start;
    // A block that does not start the file begins after the first newline at or after start - 1.
    if (from > 0) {
      let found = -1;
      let at = from - 1;
      const buf = Buffer.allocUnsafe(CHUNK);
      while (found < 0 && at < size) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK, at);
        const i = buf.subarray(0, bytesRead).indexOf(10);
        if (i >= 0) found = at + i;
        else at += bytesRead;
        if (bytesRead === 0) break;
      }
      if (found < 0 || found + 1 >= end) return "";
      from = found + 1;
    }
    // Read up to `end`, then on to the end of the line that straddles it.
    const chunks: Buffer[] = [];
    const first = Buffer.allocUnsafe(end - from);
    let got = 0;
    while (got < first.length) {
      const { bytesRead } = await fh.read(first, got, first.length - got, from + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    chunks.push(first.subarray(0, got));
    let at = from + got;
    if (got > 0 && first[got - 1] !== 10) {
      const buf = Buffer.allocUnsafe(CHUNK);
      while (at < size) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK, at);
        if (bytesRead === 0) break;
        const i = buf.subarray(0, bytesRead).indexOf(10);
        if (i >= 0) {
          chunks.push(Buffer.from(buf.subarray(0, i + 1)));
          break;
        }
        chunks.push(Buffer.from(buf.subarray(0, bytesRead)));
        at += bytesRead;
      }
    }
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    await fh.close();
  }
}

/** Split one CSV line into fields (RFC 4180 quoting). */
export function splitLine(line: string, delimiter: string, out: string[]): string[] {
  out.length = 0;
  if (line.indexOf('"') < 0) {
    let from = 0;
    for (;;) {
      const i = line.indexOf(delimiter, from);
      if (i < 0) {
        out.push(line.slice(from));
        return out;
      }
      out.push(line.slice(from, i));
      from = i + delimiter.length;
    }
  }
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (line.startsWith(delimiter, i)) {
      out.push(field);
      field = "";
      i += delimiter.length - 1;
    } else field += ch;
  }
  out.push(field);
  return out;
}

export async function readCsvTask(spec: CsvBlockSpec): Promise<FramePartition> {
  const text = await readBlock(spec);
  const lines = text.split("\n");
  let first = spec.start === 0 && spec.header ? 1 : 0;
  let last = lines.length;
  while (last > first && lines[last - 1].trim() === "") last--;
  const rows = Math.max(0, last - first);
  const cols: (Float64Array | (string | null)[])[] = spec.dtypes.map((dt) => (dt === "string" ? new Array<string | null>(rows) : new Float64Array(rows)));
  const fields: string[] = [];
  let r = 0;
  for (let li = first; li < last; li++) {
    let line = lines[li];
    if (line.endsWith("\r")) line = line.slice(0, -1);
    splitLine(line, spec.delimiter, fields);
    for (let c = 0; c < spec.use.length; c++) {
      const v = fields[spec.use[c]];
      const col = cols[c];
      if (col instanceof Float64Array) col[r] = v === undefined || v === "" ? NaN : Number(v);
      else col[r] = v === undefined || v === "" ? null : v;
    }
    r++;
  }
  const columns = new Map<string, Column>();
  spec.use.forEach((k, c) => {
    const dt = spec.dtypes[c];
    const col = cols[c];
    columns.set(spec.names[k], dt === "float64" || dt === "string" ? col : convert(col as Float64Array, dt));
  });
  return { rows, columns };
}

function convert(v: Float64Array, dt: Dtype): Column {
  switch (dt) {
    case "float32":
      return Float32Array.from(v);
    case "int32":
      return Int32Array.from(v);
    case "bool":
      return Uint8Array.from(v);
    case "int64":
      return BigInt64Array.from(v, (x) => BigInt(Math.trunc(x)));
    case "uint64":
      return BigUint64Array.from(v, (x) => BigInt(Math.trunc(x)));
    default:
      return v;
  }
}
