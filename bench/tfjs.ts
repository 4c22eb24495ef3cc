/**
 * TensorFlow.js in skein's workers (issue 11):
 *
 *   npm run bench -- tfjs [--quick] [--rows N] [--epochs E] [--batch B] [--partitions K]
 *                         [--search-rows M] [--search-epochs S]
 *
 * 1. An MLP (32 -> 64 -> 64 -> 2, Adam) on N x 32 synthetic rows (default 200,000), E epochs
 *    (default 5), global batch B (default 8192): synchronous data-parallel SGD on
 *    LocalCluster(2 workers x 1 thread), the K partitions (default 2) scattered to the workers,
 *    vs single-process tfjs-wasm (this process) on the same partitions and the same batches.
 *    Figure: samples/s (rows x epochs / wall time), target >= 1.5x on 2 cores. Large batches
 *    amortise each step's round trip through the scheduler (see notes/readme/tfjs-bench.md). The two models are
 *    compared weight by weight (max |difference|), as a check that both did the same work.
 * 2. GridSearchCV of 8 candidates (hidden sizes x learning rates x batch sizes), cv=3, on M rows
 *    (default 20,000), S epochs (default 3): on the cluster vs the same search run sequentially in
 *    this process (`client: null`). Figure: seconds.
 * The anchor is skein's own single-process run (no Python TF.js anchor exists); --quick: N =
 * 40,000, E = 2, M = 5,000, S = 2.
 */
import { KerasClassifier, mlp, tfReady, type KerasState } from "../estimators/tfjs/index.js";
import { GridSearchCV } from "../estimators/search.js";
import { Client } from "../src/client/client.js";
import type { XYPartition } from "../src/data/types.js";
import { isMain } from "../src/main-guard.js";
import { numberOption, parseArgs } from "./lib/args.js";
import { emit, progress } from "./lib/report.js";

const BENCH = "tfjs";
const P = 32;

/** makeClassification-like rows made here (seeded): 2 classes, 8 informative features. */
function makeRows(n: number, seed: number): { X: Float64Array; y: Float64Array } {
  let s = seed >>> 0;
  const u = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  const X = new Float64Array(n * P);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = u() < 0.5 ? 0 : 1;
    y[i] = c;
    for (let j = 0; j < P; j++) {
      const g = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
      X[i * P + j] = g + (j < 8 ? (((c + j) & 1) === 0 ? 1 : -1) : 0);
    }
  }
  return { X, y };
}

function split(d: { X: Float64Array; y: Float64Array }, n: number, k: number): XYPartition[] {
  const out: XYPartition[] = [];
  for (let b = 0; b < k; b++) {
    const a = Math.floor((b * n) / k);
    const e = Math.floor(((b + 1) * n) / k);
    out.push({ X: { rows: e - a, cols: P, data: d.X.slice(a * P, e * P) }, y: d.y.slice(a, e) });
  }
  return out;
}

function maxDiff(a: KerasState, b: KerasState): number {
  let m = 0;
  a.weights.values.forEach((w, k) => {
    const v = b.weights.values[k];
    for (let i = 0; i < w.length; i++) m = Math.max(m, Math.abs(w[i] - v[i]));
  });
  return m;
}

export async function run(args: string[]): Promise<void> {
  const a = parseArgs(args, { flags: ["quick", "no-anchor", "anchor-recorded"], values: ["rows", "epochs", "batch", "partitions", "search-rows", "search-epochs"] }, "skein bench tfjs");
  const quick = a.flags.has("quick");
  const n = numberOption(a, "rows", quick ? 40_000 : 200_000);
  const epochs = numberOption(a, "epochs", quick ? 2 : 5);
  const batch = numberOption(a, "batch", 8192);
  const k = numberOption(a, "partitions", 2);
  const m = numberOption(a, "search-rows", quick ? 5_000 : 20_000);
  const searchEpochs = numberOption(a, "search-epochs", quick ? 2 : 3);
  const info = await tfReady();
  progress(`tfjs ${info.backend}, SIMD ${info.simd}, ${info.threads} wasm thread(s); ${n} x ${P}, ${epochs} epochs, batch ${batch}, ${k} partitions`);
  const data = makeRows(n, 1);
  const parts = split(data, n, k);
  const params = { model: mlp, modelParams: { hiddenLayerSizes: [64, 64] }, epochs, batchSize: batch, learningRate: 0.001, randomState: 0 };

  const client = await Client.connect({ nWorkers: 2, threadsPerWorker: 1 });
  try {
    // Warm-up: each worker thread loads tfjs and the estimator module once.
    const warm = await client.scatterMany(split(makeRows(2000, 9), 2000, k), { hash: false });
    await new KerasClassifier({ ...params, epochs: 1, batchSize: 500 }).fit(warm, undefined, { client });
    await new KerasClassifier({ ...params, epochs: 1, batchSize: 500 }).fit(split(makeRows(2000, 9), 2000, k));
    for (const f of warm) f.release();

    // 1. Training throughput.
    progress("single-process training");
    const single = new KerasClassifier(params);
    let t0 = performance.now();
    await single.fit(parts);
    const tSingle = (performance.now() - t0) / 1000;
    progress(`single: ${tSingle.toFixed(2)} s`);
    const futs = await client.scatterMany(parts, { hash: false });
    const dist = new KerasClassifier(params);
    t0 = performance.now();
    await dist.fit(futs, undefined, { client });
    const tDist = (performance.now() - t0) / 1000;
    progress(`data-parallel: ${tDist.toFixed(2)} s`);
    for (const f of futs) f.release();
    const samples = n * epochs;
    const d = dist.lastDistributed!;
    emit({
      bench: BENCH,
      case: `mlp_${n}x${P}_${epochs}ep_data_parallel_vs_single`,
      ours: samples / tDist,
      anchor: samples / tSingle,
      unit: "samples/s",
      better: "higher",
      target: 1.5,
      anchor_source: "measured",
      anchor_name: "single-process tfjs-wasm, same batches",
      seconds: { data_parallel: tDist, single: tSingle },
      steps: d.steps,
      worker_groups: d.groups,
      batch,
      partitions: k,
      max_weight_diff: maxDiff(dist.toJSON().state as KerasState, single.toJSON().state as KerasState),
      final_loss: { data_parallel: dist.history[epochs - 1], single: single.history[epochs - 1] },
      accuracy: dist.score(parts[0].X, parts[0].y),
      simd: info.simd,
    });

    // 2. GridSearchCV of 8 candidates.
    const sd = makeRows(m, 2);
    const X = { rows: m, cols: P, data: sd.X };
    const grid = { model__hiddenLayerSizes: [[32], [64, 64]], learningRate: [0.001, 0.01], batchSize: [64, 256] };
    const base = new KerasClassifier({ model: mlp, epochs: searchEpochs, randomState: 0 });
    progress(`GridSearchCV 8 candidates x 3 folds on ${m} rows, ${searchEpochs} epochs: cluster`);
    t0 = performance.now();
    const onCluster = await new GridSearchCV({ estimator: base, paramGrid: grid, cv: 3 }).fit(X, sd.y, { client });
    const tCluster = (performance.now() - t0) / 1000;
    progress(`cluster: ${tCluster.toFixed(2)} s; sequential in this process`);
    t0 = performance.now();
    const here = await new GridSearchCV({ estimator: base, paramGrid: grid, cv: 3 }).fit(X, sd.y, { client: null });
    const tHere = (performance.now() - t0) / 1000;
    const ca = onCluster.cvResults.mean_test_score as number[];
    const cb = here.cvResults.mean_test_score as number[];
    emit({
      bench: BENCH,
      case: `gridsearch_8x3_${m}x${P}_${searchEpochs}ep_cluster_vs_sequential`,
      ours: tCluster,
      anchor: tHere,
      unit: "s",
      better: "lower",
      target: null,
      anchor_source: "measured",
      anchor_name: "the same GridSearchCV run sequentially in this process (client: null)",
      best_params: onCluster.bestParams,
      best_score: onCluster.bestScore,
      same_scores: ca.every((v, i) => Math.abs(v - cb[i]) < 1e-9),
      includes_refit: true,
    });
  } finally {
    await client.close();
  }
}

if (isMain(import.meta)) {
  await run(process.argv.slice(2));
}
