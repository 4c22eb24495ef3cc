/**
 * readRowGroups: decode chosen row groups and columns of one file into typed arrays. This is
 * what a worker runs for one partition; the client only reads footers.
 */
import { ParquetError, ParquetUnsupportedError, messageOf } from "./errors.js";
import { closeFile, openFile, readRanges, type OpenFile } from "./file.js";
import { readFooterOf } from "./footer.js";
import { decodeChunk, newSink, UnsupportedEncodingError, type Kind, type Sink } from "./decode.js";
import { UnsupportedCodecError } from "./decompress.js";
import { emptyColumn, finalize, kindOf } from "./columns.js";
import { giveBytes, giveF64, takeF64 } from "../byte-pool.js";
import type { ColumnArray, ParquetColumnInfo, ParquetFileInfo, ReadBatch, RowGroupInfo } from "./types.js";

export interface ReadRowGroupsOptions {
  /** Row groups to read, in the order wanted (default: all). */
  rowGroups?: readonly number[];
  /** Top-level columns to read (default: all). */
  columns?: readonly string[];
  /**
   * The file's footer as `readFooter` returned it (e.g. read by the client): saves the worker
   * a footer read. The file must still have the size it had then.
   */
  info?: ParquetFileInfo;
  /**
   * Float64 columns in scratch memory (byte-pool.ts) instead of fresh arrays, for a caller that
   * consumes them at once (a fused read-and-predict task): it must call `releaseColumns(batch)`
   * when done and keep no view of them after.
   */
  scratchColumns?: boolean;
}

interface Plan {
  col: ParquetColumnInfo;
  kind: Kind;
  sink: Sink;
}

/**
 * Read row groups `rowGroups` of the file at `path`, concatenated in that order, as typed
 * arrays (rules in `columns.ts`): DOUBLE/FLOAT -> Float64Array with NaN for nulls; INT32 ->
 * Int32Array, or Float64Array with NaN when the rows read hold nulls; INT64 -> Float64Array
 * when exact (|v| <= 2^53), else BigInt64Array; BOOLEAN -> Uint8Array (Float64Array with nulls);
 * strings -> (string | null)[]. `nullCounts` has every column, so a caller that needs an integer
 * target can refuse nulls explicitly.
 */
export async function readRowGroups(path: string, options: ReadRowGroupsOptions = {}): Promise<ReadBatch> {
  const file = await openFile(path);
  try {
    return await readOpen(file, options);
  } finally {
    await closeFile(file);
  }
}

async function readOpen(file: OpenFile, options: ReadRowGroupsOptions): Promise<ReadBatch> {
  const path = file.path;
  let info = options.info;
  if (info) {
    if (info.fileSize !== file.size) {
      throw new ParquetError(path, `file changed since its footer was read (${info.fileSize} bytes then, ${file.size} now)`);
    }
  } else {
    info = (await readFooterOf(file)).info;
  }
  const groups = options.rowGroups ?? info.rowGroups.map((g) => g.index);
  // By file index: a footer trimmed to some row groups (footerForRowGroups) lists only those.
  const groupAt = new Map(info.rowGroups.map((rg) => [rg.index, rg] as const));
  for (const g of groups) {
    if (!groupAt.has(g)) {
      const whole = info.rowGroups.every((rg, i) => rg.index === i);
      const has = whole ? `the file has ${info.rowGroups.length}` : `the footer given lists row groups ${[...groupAt.keys()].join(", ")}`;
      throw new ParquetError(path, `row group ${g} does not exist (${has})`);
    }
  }
  const groupOf = (g: number) => groupAt.get(g) as RowGroupInfo;
  const cols = selectColumns(info, options.columns);
  let rows = 0;
  for (const g of groups) rows += groupOf(g).numRows;
  const plans: Plan[] = cols.map((col) => {
    const kind = kindOf(path, col);
    if (options.scratchColumns && kind === "f64" && rows > 0) {
      return { col, kind, sink: { kind, values: takeF64(rows), valid: undefined, nulls: 0 } };
    }
    return { col, kind, sink: newSink(kind, rows) };
  });

  // Read row group i + 1 while decoding row group i (decoding is synchronous). The bytes are
  // scratch: decoding copies everything it keeps, so they go back to the pool after each group.
  const fetch = (g: number) =>
    readRanges(
      file,
      plans.map(({ col }) => {
        const ch = groupOf(g).columns[col.leaf];
        return { start: ch.start, end: ch.start + ch.compressedSize };
      }),
      true,
    );
  let next = groups.length ? fetch(groups[0]) : undefined;
  let rowOffset = 0;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i];
    const chunks = await (next as Promise<Uint8Array[]>);
    next = i + 1 < groups.length ? fetch(groups[i + 1]) : undefined;
    // A prefetch that fails while we decode must not become an unhandled rejection.
    next?.catch(() => {});
    const group = groupOf(g);
    for (let c = 0; c < plans.length; c++) {
      const { col, sink } = plans[c];
      const chunk = group.columns[col.leaf];
      try {
        decodeChunk(chunks[c], {
          sink,
          rowOffset,
          rows: group.numRows,
          codec: chunk.codec,
          nullable: col.nullable,
          ...(col.typeLength !== undefined ? { typeLength: col.typeLength } : {}),
        });
      } catch (err) {
        const where = `row group ${g}, column "${col.name}"`;
        if (err instanceof UnsupportedEncodingError || err instanceof UnsupportedCodecError) {
          throw new ParquetUnsupportedError(path, `${where}: ${err.message}`, { cause: err });
        }
        throw new ParquetError(path, `${where}: cannot decode (${messageOf(err)})`, { cause: err });
      }
    }
    for (const c of chunks) giveBytes(c);
    rowOffset += group.numRows;
  }

  const columns = new Map<string, ColumnArray>();
  const nullCounts = new Map<string, number>();
  for (const { col, kind, sink } of plans) {
    try {
      columns.set(col.name, rows === 0 ? emptyColumn(col, kind) : finalize(col, sink));
    } catch (err) {
      throw new ParquetError(path, `column "${col.name}": ${messageOf(err)}`, { cause: err });
    }
    nullCounts.set(col.name, sink.nulls);
  }
  return { rows, columns, nullCounts };
}

/** Give back the scratch columns of a batch read with `scratchColumns` (others are left alone). */
export function releaseColumns(batch: { columns: ReadonlyMap<string, unknown> }): void {
  for (const c of batch.columns.values()) if (c instanceof Float64Array) giveF64(c);
}

function selectColumns(info: ParquetFileInfo, names: readonly string[] | undefined): ParquetColumnInfo[] {
  if (!names) return info.columns;
  const byName = new Map(info.columns.map((c) => [c.name, c] as const));
  return names.map((name) => {
    const col = byName.get(name);
    if (!col) {
      throw new ParquetError(info.path, `no column "${name}" (columns: ${info.columns.map((c) => c.name).join(", ")})`);
    }
    return col;
  });
}
