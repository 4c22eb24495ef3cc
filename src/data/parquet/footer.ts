/**
 * readFooter: the footer of a Parquet file (schema, row groups, statistics) as plain data,
 * reading only the tail of the file. Thrift decoding is hyparquet's; validation and the
 * normalisation into `ParquetFileInfo` are ours.
 */
import { parquetMetadata } from "hyparquet";
import type { ColumnChunk, FileMetaData, LogicalType, SchemaElement, Statistics } from "hyparquet";
import { ParquetError, messageOf } from "./errors.js";
import { closeFile, openFile, readAt, type OpenFile, type OpenOptions } from "./file.js";
import type {
  ColumnChunkInfo,
  ColumnStats,
  LogicalTypeInfo,
  ParquetCodec,
  ParquetColumnInfo,
  ParquetFileInfo,
  PhysicalType,
  RowGroupInfo,
  StatValue,
} from "./types.js";

const MAGIC = 0x31524150; // "PAR1" little-endian
const MAGIC_ENCRYPTED = 0x45524150; // "PARE"
/** One read of the tail usually holds the whole footer. */
const TAIL_READ = 1 << 16;

/**
 * Statistics parsers that keep physical values: timestamps stay integers in their unit and
 * dates stay day numbers, as `readRowGroups` returns them.
 */
const RAW_PARSERS = {
  timestampFromMilliseconds: (v: bigint) => v,
  timestampFromMicroseconds: (v: bigint) => v,
  timestampFromNanoseconds: (v: bigint) => v,
  dateFromDays: (v: number) => v,
};

/**
 * Read and validate the footer of the Parquet file at `path`. `sync`: see OpenOptions (a footer
 * is one or two reads of at most 64 KiB, which the client does for every file before planning).
 */
export async function readFooter(path: string, options: OpenOptions = {}): Promise<ParquetFileInfo> {
  const file = await openFile(path, options);
  try {
    return (await readFooterOf(file)).info;
  } finally {
    await closeFile(file);
  }
}

/** The footer both as skein's plain info and as hyparquet's metadata (the decoder wants the latter). */
export interface Footer {
  info: ParquetFileInfo;
  metadata: FileMetaData;
}

export async function readFooterOf(file: OpenFile): Promise<Footer> {
  const { path, size } = file;
  if (size < 12) {
    throw new ParquetError(path, `not a parquet file (${size} bytes; a parquet file has at least 12)`);
  }
  const tailLen = Math.min(size, TAIL_READ);
  const [head, tail] = await Promise.all([readAt(file, 0, 4), readAt(file, size - tailLen, tailLen)]);
  const headMagic = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true);
  const tailView = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  const tailMagic = tailView.getUint32(tailLen - 4, true);
  if (tailMagic !== MAGIC) {
    if (tailMagic === MAGIC_ENCRYPTED) throw new ParquetError(path, "encrypted footer (PARE magic): encrypted parquet files are not supported");
    if (headMagic === MAGIC) {
      throw new ParquetError(path, "truncated file (PAR1 magic at the start but not at the end)");
    }
    throw new ParquetError(path, "not a parquet file (missing PAR1 magic)");
  }
  if (headMagic !== MAGIC) throw new ParquetError(path, "not a parquet file (missing PAR1 magic at the start)");

  const footerLength = tailView.getUint32(tailLen - 8, true);
  if (footerLength === 0) throw new ParquetError(path, "truncated footer (footer length is 0)");
  if (footerLength > size - 12) {
    throw new ParquetError(path, `truncated footer (footer length ${footerLength} exceeds the ${size - 12} bytes available)`);
  }
  // parquetMetadata wants the footer followed by its 8-byte tail.
  const footerBytes =
    footerLength + 8 <= tailLen
      ? tail.subarray(tailLen - footerLength - 8)
      : await readAt(file, size - footerLength - 8, footerLength + 8);

  let metadata: FileMetaData;
  try {
    metadata = parquetMetadata(footerBytes, { parsers: RAW_PARSERS, geoparquet: false });
  } catch (err) {
    throw new ParquetError(path, `corrupt footer (${messageOf(err)})`, { cause: err });
  }
  let info: ParquetFileInfo;
  try {
    info = toInfo(path, size, footerLength, metadata);
  } catch (err) {
    if (err instanceof ParquetError) throw err;
    throw new ParquetError(path, `corrupt footer (${messageOf(err)})`, { cause: err });
  }
  return { info, metadata };
}

interface Leaf {
  path: string;
  element: SchemaElement;
}

function toInfo(path: string, size: number, footerLength: number, md: FileMetaData): ParquetFileInfo {
  const schema = md.schema;
  if (!Array.isArray(schema) || schema.length === 0) throw new ParquetError(path, "corrupt footer (empty schema)");
  const columns: ParquetColumnInfo[] = [];
  const leaves: Leaf[] = [];
  // Walk the depth-first schema list: the root, then each top-level field with its subtree.
  let at = 1;
  const nTop = schema[0].num_children ?? 0;
  for (let c = 0; c < nTop; c++) {
    const el = schema[at];
    if (!el) throw new ParquetError(path, `corrupt footer (schema ends before top-level field ${c})`);
    const firstLeaf = leaves.length;
    at = walk(path, schema, at, el.name, leaves);
    const isGroup = (el.num_children ?? 0) > 0;
    const nested = isGroup || el.repetition_type === "REPEATED";
    const logical = logicalTypeOf(el);
    columns.push({
      name: el.name,
      physicalType: isGroup ? "GROUP" : checkedType(path, el),
      ...(logical ? { logicalType: logical } : {}),
      nullable: el.repetition_type === "OPTIONAL",
      nested,
      leaf: nested ? -1 : firstLeaf,
      ...(el.type_length !== undefined ? { typeLength: el.type_length } : {}),
    });
  }

  const rowGroups: RowGroupInfo[] = [];
  let total = 0;
  md.row_groups.forEach((rg, index) => {
    if (rg.columns.length !== leaves.length) {
      throw new ParquetError(path, `corrupt footer (row group ${index} has ${rg.columns.length} column chunks, the schema ${leaves.length} leaf columns)`);
    }
    const numRows = toNumber(rg.num_rows);
    if (!(numRows >= 0)) throw new ParquetError(path, `corrupt footer (row group ${index} has ${numRows} rows)`);
    const chunks = rg.columns.map((chunk, i) => chunkInfo(path, size, index, leaves[i], chunk));
    let compressed = 0;
    for (const ch of chunks) compressed += ch.compressedSize;
    rowGroups.push({
      index,
      numRows,
      totalByteSize: toNumber(rg.total_byte_size),
      compressedSize: compressed,
      columns: chunks,
    });
    total += numRows;
  });
  const numRows = toNumber(md.num_rows);
  if (numRows !== total) {
    throw new ParquetError(path, `corrupt footer (the file claims ${numRows} rows, its row groups hold ${total})`);
  }
  const kv: Record<string, string> = {};
  for (const { key, value } of md.key_value_metadata ?? []) kv[key] = value ?? "";
  return {
    path,
    fileSize: size,
    numRows,
    ...(md.created_by !== undefined ? { createdBy: md.created_by } : {}),
    columns,
    rowGroups,
    keyValueMetadata: kv,
    footerLength,
  };
}

/**
 * The footer cut down to what a reader of `rowGroups` needs: those row groups only (each keeps
 * its file `index`), no statistics, no key-value metadata. A partition's task carries this, so
 * hashing and sending 80 partitions of 8-row-group files costs an eighth of the whole footers.
 */
export function footerForRowGroups(info: ParquetFileInfo, rowGroups: readonly number[]): ParquetFileInfo {
  return {
    ...info,
    rowGroups: rowGroups.map((g) => {
      const rg = info.rowGroups[g];
      return { ...rg, columns: rg.columns.map(({ stats: _stats, ...chunk }) => chunk) };
    }),
    keyValueMetadata: {},
  };
}

/** Collect the leaves under schema[at]; returns the index after its subtree. */
function walk(file: string, schema: SchemaElement[], at: number, prefix: string, leaves: Leaf[]): number {
  const el = schema[at];
  if (!el) throw new ParquetError(file, `corrupt footer (schema ends inside "${prefix}")`);
  const n = el.num_children ?? 0;
  if (n === 0) {
    leaves.push({ path: prefix, element: el });
    return at + 1;
  }
  let next = at + 1;
  for (let c = 0; c < n; c++) {
    const child = schema[next];
    if (!child) throw new ParquetError(file, `corrupt footer (schema ends inside "${prefix}")`);
    next = walk(file, schema, next, `${prefix}.${child.name}`, leaves);
  }
  return next;
}

function checkedType(file: string, el: SchemaElement): PhysicalType {
  if (!el.type) throw new ParquetError(file, `corrupt footer (column "${el.name}" has no physical type)`);
  return el.type;
}

function chunkInfo(file: string, size: number, rg: number, leaf: Leaf, chunk: ColumnChunk): ColumnChunkInfo {
  const meta = chunk.meta_data;
  if (!meta) {
    throw new ParquetError(file, `row group ${rg} column "${leaf.path}": no column metadata (encrypted or external column chunks are not supported)`);
  }
  if (chunk.file_path) {
    throw new ParquetError(file, `row group ${rg} column "${leaf.path}": data in another file (${chunk.file_path}) is not supported`);
  }
  const dataOffset = toNumber(meta.data_page_offset);
  const dictOffset = meta.dictionary_page_offset === undefined ? undefined : toNumber(meta.dictionary_page_offset);
  // Some writers store dictionary_page_offset = 0 when there is no dictionary; only trust a
  // dictionary offset that lies before the data pages.
  const start = dictOffset !== undefined && dictOffset > 0 && dictOffset < dataOffset ? dictOffset : dataOffset;
  const compressedSize = toNumber(meta.total_compressed_size);
  if (!(start >= 4) || !(compressedSize >= 0) || start + compressedSize > size) {
    throw new ParquetError(
      file,
      `corrupt footer (row group ${rg} column "${leaf.path}": chunk bytes ${start}..${start + compressedSize} lie outside the file of ${size} bytes)`,
    );
  }
  const stats = statsOf(leaf.element, meta.statistics);
  return {
    path: leaf.path,
    physicalType: meta.type,
    codec: meta.codec as ParquetCodec,
    encodings: (meta.encodings ?? []).filter((e): e is NonNullable<typeof e> => e !== undefined),
    numValues: toNumber(meta.num_values),
    start,
    compressedSize,
    uncompressedSize: toNumber(meta.total_uncompressed_size),
    ...(stats ? { stats } : {}),
  };
}

function toNumber(v: bigint | number | undefined): number {
  return typeof v === "bigint" ? Number(v) : (v ?? NaN);
}

function statsOf(el: SchemaElement, s: Statistics | undefined): ColumnStats | undefined {
  if (!s) return undefined;
  const out: ColumnStats = {};
  // min_value/max_value follow the column's sort order. The deprecated min/max used signed
  // comparison, which is only right for signed numeric and boolean columns.
  const legacyOk =
    (el.type === "INT32" || el.type === "INT64" || el.type === "FLOAT" || el.type === "DOUBLE" || el.type === "BOOLEAN") &&
    !isUnsigned(el);
  let min = statValue(s.min_value ?? (legacyOk ? s.min : undefined));
  let max = statValue(s.max_value ?? (legacyOk ? s.max : undefined));
  const scale = decimalScale(el);
  if (scale !== undefined) {
    // hyparquet scales decimal statistics by multiplying with 10^-scale; the reader divides
    // the unscaled integer by 10^scale. Redo it the reader's way so bounds equal values.
    min = rescale(min, scale);
    max = rescale(max, scale);
  }
  if (min !== undefined) out.min = min;
  if (max !== undefined) out.max = max;
  if (s.null_count !== undefined) out.nullCount = Number(s.null_count);
  if (s.distinct_count !== undefined) out.distinctCount = Number(s.distinct_count);
  return Object.keys(out).length ? out : undefined;
}

function decimalScale(el: SchemaElement): number | undefined {
  if (el.logical_type?.type === "DECIMAL") return el.logical_type.scale ?? 0;
  if (el.converted_type === "DECIMAL") return el.scale ?? 0;
  return undefined;
}

function rescale(v: StatValue | undefined, scale: number): StatValue | undefined {
  if (typeof v !== "number" || scale === 0) return v;
  const div = 10 ** scale;
  return Math.round(v * div) / div;
}

function statValue(v: unknown): StatValue | undefined {
  switch (typeof v) {
    case "number":
    case "string":
    case "boolean":
      return v;
    case "bigint":
      // 64-bit statistics become numbers when exact, as the reader returns such columns.
      return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
    default:
      return undefined; // byte arrays of FIXED_LEN columns, INT96: not usable as bounds
  }
}

export function isUnsigned(el: { converted_type?: string; logical_type?: LogicalType }): boolean {
  return (
    (el.converted_type?.startsWith("UINT_") ?? false) ||
    (el.logical_type?.type === "INTEGER" && el.logical_type.isSigned === false)
  );
}

const CONVERTED_INTEGER: Record<string, [number, boolean]> = {
  INT_8: [8, true],
  INT_16: [16, true],
  INT_32: [32, true],
  INT_64: [64, true],
  UINT_8: [8, false],
  UINT_16: [16, false],
  UINT_32: [32, false],
  UINT_64: [64, false],
};

export function logicalTypeOf(el: SchemaElement): LogicalTypeInfo | undefined {
  const lt = el.logical_type;
  if (lt) {
    switch (lt.type) {
      case "INTEGER":
        return { type: "INTEGER", bitWidth: lt.bitWidth, isSigned: lt.isSigned };
      case "DECIMAL":
        return { type: "DECIMAL", scale: lt.scale ?? 0, precision: lt.precision };
      case "TIME":
      case "TIMESTAMP":
        return { type: lt.type, unit: lt.unit, isAdjustedToUTC: lt.isAdjustedToUTC };
      default:
        return { type: lt.type };
    }
  }
  const ct = el.converted_type;
  if (!ct) return undefined;
  const int = CONVERTED_INTEGER[ct];
  if (int) return { type: "INTEGER", bitWidth: int[0], isSigned: int[1] };
  switch (ct) {
    case "UTF8":
      return { type: "STRING" };
    case "DECIMAL":
      return { type: "DECIMAL", scale: el.scale ?? 0, ...(el.precision !== undefined ? { precision: el.precision } : {}) };
    case "TIMESTAMP_MILLIS":
      return { type: "TIMESTAMP", unit: "MILLIS", isAdjustedToUTC: true };
    case "TIMESTAMP_MICROS":
      return { type: "TIMESTAMP", unit: "MICROS", isAdjustedToUTC: true };
    case "TIME_MILLIS":
      return { type: "TIME", unit: "MILLIS", isAdjustedToUTC: true };
    case "TIME_MICROS":
      return { type: "TIME", unit: "MICROS", isAdjustedToUTC: true };
    case "MAP_KEY_VALUE":
      return { type: "MAP" };
    default:
      return { type: ct };
  }
}
