/**
 * Plain-data types of skein's Parquet layer. Everything here can be sent to a worker or saved:
 * no class instances, no functions. Byte offsets and counts are numbers (files < 8 PiB).
 */

export type PhysicalType =
  | "BOOLEAN"
  | "INT32"
  | "INT64"
  | "INT96"
  | "FLOAT"
  | "DOUBLE"
  | "BYTE_ARRAY"
  | "FIXED_LEN_BYTE_ARRAY";

/** Codec names as the Parquet footer spells them. */
export type ParquetCodec = "UNCOMPRESSED" | "SNAPPY" | "GZIP" | "LZO" | "BROTLI" | "LZ4" | "ZSTD" | "LZ4_RAW";

/** Codecs skein can write (lower case, as users type them). */
export type WriteCompression = "uncompressed" | "snappy" | "gzip" | "brotli" | "zstd" | "lz4_raw";

/**
 * Logical annotation of a column, normalised from the footer's LogicalType or (for older
 * writers) its ConvertedType. Readers return the physical values; see `readRowGroups`.
 */
export interface LogicalTypeInfo {
  /** STRING, INTEGER, DECIMAL, DATE, TIME, TIMESTAMP, ENUM, JSON, BSON, UUID, FLOAT16, LIST, MAP, ... */
  type: string;
  bitWidth?: number;
  isSigned?: boolean;
  scale?: number;
  precision?: number;
  unit?: "MILLIS" | "MICROS" | "NANOS";
  isAdjustedToUTC?: boolean;
}

export interface ParquetColumnInfo {
  /** Top-level column name. */
  name: string;
  /** Physical type of the leaf; "GROUP" for nested columns (structs, lists, maps). */
  physicalType: PhysicalType | "GROUP";
  logicalType?: LogicalTypeInfo;
  /** True when the column may hold nulls (OPTIONAL repetition). */
  nullable: boolean;
  /** Nested columns (groups, repeated fields) are listed but cannot be read by skein. */
  nested: boolean;
  /** Index of this column's chunk in every row group's `columns`; -1 for nested columns. */
  leaf: number;
  typeLength?: number;
}

/** A min/max statistic, converted to the value the reader returns for that column. */
export type StatValue = number | bigint | string | boolean;

export interface ColumnStats {
  /** Lower bound of the non-null values (absent when the writer gave none usable). */
  min?: StatValue;
  /** Upper bound of the non-null values. */
  max?: StatValue;
  nullCount?: number;
  distinctCount?: number;
}

export interface ColumnChunkInfo {
  /** Dotted path of the leaf (the column name for flat columns). */
  path: string;
  physicalType: PhysicalType;
  codec: ParquetCodec;
  encodings: string[];
  numValues: number;
  /** File offset of the chunk's first page (dictionary page when there is one). */
  start: number;
  compressedSize: number;
  uncompressedSize: number;
  stats?: ColumnStats;
}

export interface RowGroupInfo {
  index: number;
  numRows: number;
  /** Uncompressed size of the row group's data, as the footer states it. */
  totalByteSize: number;
  /** Bytes the row group occupies in the file (sum of its chunks). */
  compressedSize: number;
  /** One entry per leaf column, in file order. */
  columns: ColumnChunkInfo[];
}

export interface ParquetFileInfo {
  path: string;
  /** File size when the footer was read; a reader given this info refuses a file of another size. */
  fileSize: number;
  numRows: number;
  createdBy?: string;
  /** Top-level columns, in file order. */
  columns: ParquetColumnInfo[];
  /** In file order; a footer trimmed for one partition (footerForRowGroups) lists only its own. */
  rowGroups: RowGroupInfo[];
  keyValueMetadata: Record<string, string>;
  /** Footer length in bytes (thrift FileMetaData, without the 8-byte tail). */
  footerLength: number;
}

/**
 * One column of a batch. Numeric columns are typed arrays; `Uint8Array` holds booleans (0/1);
 * `BigInt64Array`/`BigUint64Array` only appear for 64-bit integers beyond 2^53; strings are
 * `(string | null)[]`.
 */
export type ColumnArray =
  | Float64Array
  | Float32Array
  | Int32Array
  | BigInt64Array
  | BigUint64Array
  | Uint8Array
  | (string | null)[];

export interface ColumnBatch {
  rows: number;
  columns: Map<string, ColumnArray>;
  /**
   * Nulls per column. Set by `readRowGroups` for every column it returns. For the writer, a
   * floating-point column with a positive count is written as nullable with NaN -> null.
   */
  nullCounts?: Map<string, number>;
}

/** What `readRowGroups` returns: `nullCounts` is always there. */
export interface ReadBatch extends ColumnBatch {
  nullCounts: Map<string, number>;
}

export type FilterOp = "==" | "!=" | "<" | "<=" | ">" | ">=" | "in";
export type FilterValue = number | bigint | string | boolean;
/** `[column, op, value]`; `in` takes an array of values. */
export type FilterTriple =
  | readonly [column: string, op: Exclude<FilterOp, "in">, value: FilterValue]
  | readonly [column: string, op: "in", values: readonly FilterValue[]];
/**
 * A list of triples is a conjunction (AND). A list of lists is a disjunction of conjunctions
 * (OR of ANDs), as in pyarrow's `filters`.
 */
export type Filters = readonly FilterTriple[] | readonly (readonly FilterTriple[])[];
