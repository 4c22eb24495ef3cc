/**
 * TensorFlow.js in the workers: tune a small MLP with GridSearchCV on the cluster, train the best
 * one data-parallel on a partitioned collection (the data stays on the workers), save it, and
 * predict over Parquet files with ParallelPostFit.
 *
 *   node --conditions=source --import tsx examples/tfjs.ts
 *   SKEIN_EXAMPLE_SMALL=1 ...   # a small data set (a few seconds)
 *
 * The model factory is `mlp`, an exported function of skein's tfjs module; your own factory
 * works the same once it is exported from a module the workers can import.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, isMain } from "skein";
import { makeClassification, readParquet, writeParquet } from "skein/data";
import { GridSearchCV, ParallelPostFit, load, save } from "skein/estimators";
// Published as the `skein/estimators/tfjs` entry (kept apart: importing it loads TensorFlow.js).
import { KerasClassifier, mlp, tfReady } from "skein/estimators/tfjs";

export async function main(): Promise<void> {
  const small = process.env.SKEIN_EXAMPLE_SMALL === "1";
  const n = small ? 1_200 : 100_000;
  const nFeatures = 8;
  const features = Array.from({ length: nFeatures }, (_, j) => `x${j}`);
  const dir = await mkdtemp(join(tmpdir(), "skein-tfjs-"));
  const info = await tfReady();
  console.log(`tfjs backend ${info.backend} (SIMD ${info.simd}, ${info.threads} thread)`);
  const client = await Client.connect({ nWorkers: 2 });
  try {
    // 1. Data made on the workers: 3 classes, 4 informative features, 4 partitions.
    const frame = await makeClassification({ nSamples: n, nFeatures, nInformative: 4, nClasses: 3, npartitions: 4, seed: 1 }).persist();
    const xy = frame.splitXY("y", features);
    const sample = await xy.compute(); // the whole set, here, for the search

    // 2. GridSearchCV: 4 candidates x 3 folds, each fit a task on the cluster.
    const search = new GridSearchCV({
      estimator: new KerasClassifier({ model: mlp, epochs: small ? 2 : 5, batchSize: 64, randomState: 0 }),
      paramGrid: { model__hiddenLayerSizes: [[16], [32, 16]], learningRate: [0.001, 0.01] },
      cv: 3,
    });
    await search.fit(sample.X, sample.y, { client });
    const r = search.cvResults;
    for (let c = 0; c < r.params.length; c++) {
      console.log(`  rank ${r.rank_test_score[c]}  ${JSON.stringify(r.params[c])}  accuracy ${(r.mean_test_score[c] as number).toFixed(4)}`);
    }
    console.log(`best ${JSON.stringify(search.bestParams)}: mean CV accuracy ${search.bestScore.toFixed(4)}`);

    // 3. The best settings, trained data-parallel on the partitions where they live: every step
    //    each worker computes the gradient of its share of the batch, the client averages them.
    const best = new KerasClassifier({ model: mlp, epochs: small ? 3 : 5, batchSize: 256, randomState: 0 }).setParams(search.bestParams);
    await best.fit(await xy.persist(), undefined, { client });
    const d = best.lastDistributed!;
    console.log(`data-parallel fit: ${d.steps} steps over ${d.groups} workers, loss per epoch ${best.history.map((v) => v.toFixed(4)).join(", ")}`);
    const modelPath = join(dir, "model.json");
    await save(best, modelPath);

    // 4. Parquet files to score, then predictions per partition on the workers.
    await writeParquet(frame, join(dir, "data"));
    const ppf = new ParallelPostFit(await load(modelPath));
    const input = await readParquet(join(dir, "data"));
    const preds = await (await ppf.predict(input, { columns: features, idColumn: "y" })).compute();
    const y = preds.columns.get("y") as Int32Array;
    const p = preds.columns.get("prediction") as Float64Array;
    let ok = 0;
    for (let i = 0; i < preds.rows; i++) if (y[i] === p[i]) ok++;
    console.log(`predicted ${preds.rows} rows from ${input.npartitions} Parquet partitions: accuracy ${(ok / preds.rows).toFixed(4)}`);
  } finally {
    await client.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta)) await main();
