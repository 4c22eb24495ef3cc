/**
 * Batch prediction: fit once, save the model, apply it to many Parquet files in parallel and
 * write the predictions back, each row keeping its id.
 *
 *   node --conditions=source --import tsx examples/predict.ts
 *   SKEIN_EXAMPLE_SMALL=1 ...   # small files (a few seconds)
 *
 * The same files can be scored from the shell with the saved model:
 *   skein predict --model model.json --input 'data/*.parquet' --output preds/ --id-column id --method predictProba
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, isMain } from "skein";
import { readParquet, writeParquet, writeParquetFile } from "skein/data";
import { LogisticRegression, ParallelPostFit, load, save } from "skein/estimators";

const FEATURES = ["f0", "f1", "f2", "f3", "f4", "f5"];

/** Deterministic rows (a small LCG): features in [-1, 1), label from a fixed linear rule plus noise. */
function rows(n: number, seed: number): { X: Float64Array; y: Float64Array } {
  let s = seed >>> 0;
  const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const p = FEATURES.length;
  const X = new Float64Array(n * p);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let z = 0.2;
    for (let j = 0; j < p; j++) z += (j % 2 ? -0.8 : 0.6) * (X[i * p + j] = next() * 2 - 1);
    y[i] = z + 0.4 * (next() - 0.5) > 0 ? 1 : 0;
  }
  return { X, y };
}

export async function main(): Promise<void> {
  const small = process.env.SKEIN_EXAMPLE_SMALL === "1";
  const perFile = small ? 20_000 : 1_000_000;
  const nFiles = 4;
  const dir = await mkdtemp(join(tmpdir(), "skein-predict-"));
  const client = await Client.connect({ nWorkers: 2 });
  try {
    // 1. Fit on a training sample (in this process) and save the model as JSON.
    const train = rows(5_000, 1);
    const model = await new LogisticRegression({ C: 1 }).fit({ rows: 5_000, cols: FEATURES.length, data: train.X }, train.y);
    const modelPath = join(dir, "model.json");
    await save(model, modelPath);
    console.log(`fitted ${model.estimatorType}: coef ${Array.from(model.coef, (c) => c.toFixed(3)).join(", ")}; saved to ${modelPath}`);

    // 2. Some Parquet files to score: an int32 id column and six features each.
    await mkdir(join(dir, "data"));
    for (let k = 0; k < nFiles; k++) {
      const { X } = rows(perFile, 100 + k);
      const columns = new Map<string, Float64Array | Int32Array>([["id", Int32Array.from({ length: perFile }, (_, i) => k * perFile + i)]]);
      FEATURES.forEach((name, j) => columns.set(name, Float64Array.from({ length: perFile }, (_, i) => X[i * FEATURES.length + j])));
      await writeParquetFile(join(dir, "data", `batch-${k}.parquet`), { rows: perFile, columns });
    }

    // 3. Load the model back and wrap it: predictions run per partition on the workers, the
    //    model is scattered to them once. The output schema is declared: id, proba_0, proba_1.
    const loaded = await load(modelPath);
    const ppf = new ParallelPostFit(loaded);
    const frame = await readParquet(join(dir, "data"));
    const probs = await ppf.predictProba(frame, { columns: FEATURES, idColumn: "id" });
    console.log(`${frame.npartitions} input partitions -> ${probs}`);

    // 4. Write the predictions back to Parquet, straight from the workers.
    const written = await writeParquet(probs, join(dir, "preds"));
    console.log(`wrote ${written.length} prediction files, ${written.reduce((n, w) => n + w.rows, 0)} rows`);

    // 5. Read a few back, and check them against the in-memory model.
    const back = await (await readParquet(join(dir, "preds"))).head(3);
    const ids = back.columns.get("id") as Int32Array;
    const p1 = back.columns.get("proba_1") as Float64Array;
    const first = rows(perFile, 100);
    const direct = model.predictProba({ rows: 3, cols: FEATURES.length, data: first.X.subarray(0, 3 * FEATURES.length) });
    for (let i = 0; i < back.rows; i++) console.log(`  id ${ids[i]}: P(y=1) = ${p1[i].toFixed(6)} (in memory: ${direct.data[2 * i + 1].toFixed(6)})`);
    const same = Array.from(p1).every((v, i) => v === direct.data[2 * i + 1]);
    console.log(same ? "the saved model gives the same probabilities" : "MISMATCH between the saved model and the original");
  } finally {
    await client.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta)) await main();
