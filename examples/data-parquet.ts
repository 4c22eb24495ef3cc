/**
 * skein/data: make a data set on the workers, write it as Parquet (one file per partition,
 * written by the workers), read it back with a filter, aggregate, and hand X / y to an estimator.
 *
 *   node --conditions=source --import tsx examples/data-parquet.ts
 *   SKEIN_EXAMPLE_SMALL=1 ...   # a small data set (a few seconds)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, isMain } from "skein";
import { makeClassification, readParquet, trainTestSplit, writeParquet, type FramePartition } from "skein/data";

/** A filter predicate runs on the workers, on whole columns: one 0/1 per row. */
export function positiveX0(p: FramePartition): Uint8Array {
  const x0 = p.columns.get("x0") as Float64Array;
  const keep = new Uint8Array(p.rows);
  for (let i = 0; i < p.rows; i++) keep[i] = x0[i] > 0 ? 1 : 0;
  return keep;
}

export async function main(): Promise<void> {
  const small = process.env.SKEIN_EXAMPLE_SMALL === "1";
  const nSamples = small ? 200_000 : 5_000_000;
  const client = await Client.connect();
  const dir = await mkdtemp(join(tmpdir(), "skein-example-"));
  try {
    // 1. Synthetic data, generated on the workers: the same rows for any npartitions.
    const data = makeClassification({ nSamples, nFeatures: 8, nInformative: 3, npartitions: 8, seed: 42 });
    console.log(`${data}`);

    // 2. Write Parquet: part-00000.parquet ... each written atomically by a worker.
    const files = await writeParquet(data, join(dir, "train"), { compression: "snappy", rowGroupSize: 50_000 });
    console.log(`wrote ${files.length} files, ${files.reduce((n, f) => n + f.rows, 0)} rows`);

    // 3. Read it back: the client reads footers only; row groups are read on the workers.
    const frame = await readParquet(join(dir, "train"), { columns: ["x0", "x1", "x2", "y"] });
    console.log(`read plan: ${frame.npartitions} partitions, ${frame.knownRows} rows`);

    // 4. Lazy operations; persist keeps the result on the workers and learns the row counts.
    const positive = await frame.filter(positiveX0).persist();
    console.log(`x0 > 0: ${await positive.count()} rows in ${positive.npartitions} partitions`);

    // 5. Grouped aggregation (a tree reduction) and describe().
    const byClass = await positive.groupBy("y").agg({ x0: ["count", "mean"], x1: "std" }).compute();
    console.log("by class:", Object.fromEntries([...byClass.columns].map(([k, v]) => [k, Array.from(v as ArrayLike<number>)])));
    const stats = await frame.select(["x0", "x1"]).describe().compute();
    console.log("describe x0:", Array.from(stats.columns.get("x0") as Float64Array).map((v) => +v.toFixed(4)));

    // 6. Train / test split and X / y partitions, the shape skein/solvers takes.
    const [train, test] = trainTestSplit(frame, { testSize: 0.2, seed: 1 });
    const xy = await train.splitXY("y").persist();
    console.log(`train: ${xy.knownRows} rows x ${xy.features.length} features; test: ${await test.count()} rows`);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await client.close();
  }
}

if (isMain(import.meta)) await main();
