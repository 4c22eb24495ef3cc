/**
 * skein/data: lazy partitioned collections on the cluster (Frame, Bag, matrices), Parquet / CSV /
 * JSON-lines readers and a Parquet writer that run on the workers, grouped aggregation,
 * synthetic data; plus the single-process Parquet layer and dense matrices they build on.
 */
export type { Column, Dtype, Field, FramePartition, Schema, XYPartition } from "./types.js";
export { Collection, type Part, type RunOptions } from "./collection.js";
export { Frame, fromPartitions, makePartition, type MapPartitionsOptions } from "./frame.js";
export { MatrixCollection, XYCollection } from "./matrix-collection.js";
export { GroupBy, type AggSpec } from "./groupby.js";
export type { AggOp } from "./agg-tasks.js";
export { readParquet, writeParquet, type ReadParquetOptions, type WriteParquetFrameOptions } from "./parquet-io.js";
export type { WrittenFile } from "./parquet-tasks.js";
export { concatPartitions, emptyPartition, slicePartition, selectPartition, dtypeOf } from "./partition.js";
export * from "./matrix.js";
export * from "./parquet/index.js";
export { readCsv, type ReadCsvOptions } from "./csv.js";
export { Bag, readText, readJsonLines, bagFromRecords, type ReadTextOptions } from "./bag.js";
export {
  makeClassification,
  makeRegression,
  makeBlobs,
  regressionCoef,
  trainTestSplit,
  type ClassificationOptions,
  type RegressionOptions,
  type BlobsOptions,
  type SplitOptions,
} from "./synthetic.js";
