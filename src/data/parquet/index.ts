/** skein's single-process Parquet layer: footers, row groups, matrices, atomic writes. */
export { readFooter } from "./footer.js";
export { readRowGroups, type ReadRowGroupsOptions } from "./read.js";
export { selectRowGroups } from "./filters.js";
export { toMatrix } from "./to-matrix.js";
export { writeParquetFile, DEFAULT_ROW_GROUP_SIZE, type WriteParquetOptions } from "./write.js";
export { defaultCompression, writableCompressions } from "./compress.js";
export { ParquetError, ParquetUnsupportedError } from "./errors.js";
export type {
  ColumnArray,
  ColumnBatch,
  ColumnChunkInfo,
  ColumnStats,
  FilterOp,
  FilterTriple,
  FilterValue,
  Filters,
  LogicalTypeInfo,
  ParquetCodec,
  ParquetColumnInfo,
  ParquetFileInfo,
  PhysicalType,
  ReadBatch,
  RowGroupInfo,
  StatValue,
  WriteCompression,
} from "./types.js";
