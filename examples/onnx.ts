/**
 * ONNX both ways: fit a pipeline (StandardScaler + LogisticRegression) in skein, export it with
 * toOnnx, write the .onnx file, load it as an OnnxModel and predict over partitions on a
 * LocalCluster, where each worker process opens the file once in onnxruntime and reuses the
 * session for all its partitions. The exported model's probabilities equal skein's to rounding.
 *
 *   node --conditions=source --import tsx examples/onnx.ts
 *   SKEIN_EXAMPLE_SMALL=1 ...   # a small data set (a few seconds)
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, isMain } from "skein";
import { makeClassification } from "skein/data";
import { LogisticRegression, OnnxModel, ParallelPostFit, StandardScaler, makePipeline, onnxSessionStats, toOnnx } from "skein/estimators";

export async function main(): Promise<void> {
  const small = process.env.SKEIN_EXAMPLE_SMALL === "1";
  const nSamples = small ? 50_000 : 2_000_000;
  const client = await Client.connect({ nWorkers: 2, threadsPerWorker: 1 });
  const dir = await mkdtemp(join(tmpdir(), "skein-onnx-example-"));
  try {
    // 1. Fit in skein, on a sample brought to this process (the first 20,000 rows: same seed).
    const data = makeClassification({ nSamples, nFeatures: 8, nInformative: 4, npartitions: 8, seed: 3 });
    const sample = await makeClassification({ nSamples: 20_000, nFeatures: 8, nInformative: 4, seed: 3 }).splitXY("y").compute();
    const pipe = await makePipeline(new StandardScaler(), new LogisticRegression({ C: 1 })).fit(sample.X, sample.y);

    // 2. Export: float64 ONNX (input "X" [N, 8]; outputs "label" and "probabilities").
    const path = join(dir, "pipeline.onnx");
    const bytes = toOnnx(pipe);
    await writeFile(path, bytes);
    console.log(`wrote ${path}: ${bytes.length} bytes`);

    // 3. Load it as an estimator: fit() only reads the file, hashes it and checks its inputs / outputs.
    const onnxModel = await OnnxModel.load(path);
    console.log("inputs:", onnxModel.inputs.map((i) => `${i.name} ${i.type} [${i.shape.join(", ")}]`).join("; "));
    console.log("outputs:", onnxModel.outputs.map((o) => `${o.name} ${o.type} [${o.shape.join(", ")}]`).join("; "));

    // 4. Predict every partition on the workers (onnxruntime runs there) and bring the result back.
    const features = data.columns.filter((c) => c !== "y");
    const proba = await (await new ParallelPostFit(onnxModel).predictProba(data, { columns: features })).compute();
    const p1 = proba.columns.get(`proba_1`) as Float64Array;
    console.log(`predicted ${proba.rows} rows in ${data.npartitions} partitions; mean P(y=1) ${(p1.reduce((a, b) => a + b, 0) / p1.length).toFixed(4)}`);

    // 5. The same rows through skein's own pipeline, here: the largest difference is rounding.
    const local = await data.splitXY("y").compute();
    const want = pipe.predictProba(local.X);
    let maxDiff = 0;
    for (let i = 0; i < p1.length; i++) maxDiff = Math.max(maxDiff, Math.abs(p1[i] - want.data[2 * i + 1]));
    console.log(`max |onnxruntime - skein| = ${maxDiff.toExponential(2)}`);
    if (!(maxDiff <= 1e-9)) throw new Error(`onnx example: predictions differ by ${maxDiff}`);

    // 6. One onnxruntime session per worker process, reused for every partition it predicted.
    for (const w of await client.workers()) {
      const s = await client.submitWith({ workers: w.address, pure: false }, onnxSessionStats).result();
      console.log(`worker ${w.name} (pid ${s.pid}): ${s.created} session(s) created, ${s.runs} runs`);
    }
  } finally {
    await client.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta)) await main();
