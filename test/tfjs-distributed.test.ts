/**
 * Data-parallel training on a LocalCluster of worker processes: the result equals
 * single-process training on the same batches (1e-5), GridSearchCV tunes the estimators on the
 * cluster with the same scores as in this process, and a replica that is missing asks for state.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ParallelPostFit } from "../estimators/parallel.js";
import { load, save } from "../estimators/persist.js";
import { GridSearchCV } from "../estimators/search.js";
import { readParquet, writeParquet } from "../src/data/parquet-io.js";
import { KerasClassifier, KerasRegressor, mlp, type KerasState } from "../estimators/tfjs/index.js";
import { Client } from "../src/index.js";
import type { XYPartition } from "../src/data/types.js";
import { makeClassification } from "../src/data/synthetic.js";

/** Three blobs in 5 features, deterministic. */
function blobs(n: number, seed: number): XYPartition {
  let s = seed >>> 0;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const X = new Float64Array(n * 5);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * 3);
    y[i] = c * 10; // labels 0, 10, 20
    for (let j = 0; j < 5; j++) X[i * 5 + j] = (j === c ? 2 : 0) + (r() - 0.5) * 2;
  }
  return { X: { rows: n, cols: 5, data: X }, y };
}

function maxDiff(a: KerasState, b: KerasState): number {
  let m = 0;
  expect(a.weights.values.length).toBe(b.weights.values.length);
  a.weights.values.forEach((w, k) => {
    const v = b.weights.values[k];
    expect(w.length).toBe(v.length);
    for (let i = 0; i < w.length; i++) m = Math.max(m, Math.abs(w[i] - v[i]));
  });
  return m;
}

const parts = [blobs(150, 1), blobs(90, 2), blobs(120, 3), blobs(40, 4)];
const params = { model: mlp, modelParams: { hiddenLayerSizes: [16, 8] }, epochs: 3, batchSize: 50, randomState: 3 };

describe("tfjs data-parallel training on LocalCluster(2, processes)", () => {
  let client: Client;
  beforeAll(async () => {
    client = await Client.connect({ nWorkers: 2, threadsPerWorker: 1 });
  }, 120_000);
  afterAll(async () => {
    await client?.close();
  });

  for (const optimizer of ["adam", "sgd"] as const) {
    it(`equals single-process training on the same batches to 1e-5 (${optimizer})`, async () => {
      const futs = await client.scatterMany(parts, { hash: false });
      const dist = new KerasClassifier({ ...params, optimizer, learningRate: optimizer === "sgd" ? 0.1 : 0.01 });
      await dist.fit(futs, undefined, { client });
      const local = new KerasClassifier({ ...params, optimizer, learningRate: optimizer === "sgd" ? 0.1 : 0.01 });
      await local.fit(parts);
      const a = dist.toJSON().state as KerasState;
      const b = local.toJSON().state as KerasState;
      expect(dist.lastDistributed!.groups).toBe(2);
      expect(dist.lastDistributed!.steps).toBe(3 * 8); // ceil(400 / 50) steps per epoch
      expect(dist.lastDistributed!.reseeds).toBe(0);
      expect(maxDiff(a, b)).toBeLessThan(1e-5);
      expect(a.epochsTrained).toBe(3);
      for (let e = 0; e < 3; e++) expect(a.history[e]).toBeCloseTo(b.history[e], 5);
      expect(a.history[2]).toBeLessThan(a.history[0]);
      expect(Array.from(dist.classes())).toEqual([0, 10, 20]);
      const acc = dist.score(parts[0].X, parts[0].y);
      expect(acc).toBeGreaterThan(0.8);
      for (const f of futs) f.release();
    }, 180_000);
  }

  it("warmStart continues a distributed fit where it stopped (same as 2 + 2 epochs locally)", async () => {
    const futs = await client.scatterMany(parts, { hash: false });
    const p = { ...params, epochs: 2, warmStart: true, learningRate: 0.01 };
    const dist = new KerasClassifier(p);
    await dist.fit(futs, undefined, { client });
    await dist.fit(futs, undefined, { client });
    const local = new KerasClassifier(p);
    await local.fit(parts);
    await local.fit(parts);
    expect(dist.epochsTrained).toBe(4);
    expect(maxDiff(dist.toJSON().state as KerasState, local.toJSON().state as KerasState)).toBeLessThan(1e-5);
    for (const f of futs) f.release();
  }, 180_000);

  it("trains a regressor on an XYCollection made on the workers", async () => {
    const frame = makeClassification({ nSamples: 2000, nFeatures: 4, nInformative: 2, npartitions: 4, seed: 5 });
    const xy = await frame.splitXY("y").persist({ client });
    const est = new KerasRegressor({ model: mlp, modelParams: { hiddenLayerSizes: [8] }, epochs: 2, batchSize: 100, learningRate: 0.01 });
    await est.fit(xy, undefined, { client });
    expect(est.lastDistributed!.groups).toBeLessThanOrEqual(2);
    expect(est.lastDistributed!.steps).toBe(40);
    expect(est.history.length).toBe(2);
    expect(est.history[1]).toBeLessThan(est.history[0]);
  }, 180_000);

  it("GridSearchCV tunes a KerasClassifier on the cluster with the scores of a local run", async () => {
    const all = { X: { rows: 400, cols: 5, data: new Float64Array(2000) }, y: new Float64Array(400) };
    let at = 0;
    for (const p of parts) {
      all.X.data.set(p.X.data, at * 5);
      all.y.set(p.y, at);
      at += p.X.rows;
    }
    const grid = { model__hiddenLayerSizes: [[4], [16]], learningRate: [0.003, 0.03] };
    const base = new KerasClassifier({ model: mlp, epochs: 2, batchSize: 32, randomState: 0 });
    const onCluster = await new GridSearchCV({ estimator: base, paramGrid: grid, cv: 3 }).fit(all.X, all.y, { client });
    const here = await new GridSearchCV({ estimator: base, paramGrid: grid, cv: 3 }).fit(all.X, all.y, { client: null });
    const a = onCluster.cvResults.mean_test_score as number[];
    const b = here.cvResults.mean_test_score as number[];
    expect(a.length).toBe(4);
    for (let i = 0; i < 4; i++) expect(a[i]).toBeCloseTo(b[i], 9);
    expect(onCluster.bestParams).toEqual(here.bestParams);
    expect(onCluster.bestParams.learningRate).toBe(0.03);
    expect(onCluster.bestEstimator.score(all.X, all.y)).toBeGreaterThan(0.8);
  }, 240_000);

  it("ParallelPostFit predicts a saved and loaded model over Parquet files on the workers", async () => {
    const frame = makeClassification({ nSamples: 3000, nFeatures: 5, nInformative: 3, nClasses: 3, npartitions: 3, seed: 8 });
    const local = await frame.splitXY("y").compute({ client });
    const est = await new KerasClassifier({ model: mlp, modelParams: { hiddenLayerSizes: [16] }, epochs: 3, batchSize: 64, learningRate: 0.01 }).fit(local.X, local.y);
    const dir = await mkdtemp(join(tmpdir(), "skein-tfjs-ppf-"));
    try {
      await save(est, join(dir, "model.json"));
      await writeParquet(frame, join(dir, "data"), { client });
      const ppf = new ParallelPostFit(await load(join(dir, "model.json")));
      const input = await readParquet(join(dir, "data"));
      const columns = ["x0", "x1", "x2", "x3", "x4"];
      const out = await (await ppf.predictProba(input, { columns, client })).compute({ client });
      expect(out.rows).toBe(3000);
      const here = est.predictProba(local.X);
      const names = Array.from(est.classes(), (c) => `proba_${c}`);
      expect([...out.columns.keys()]).toEqual(names);
      // Row order: Parquet files in partition order, rows in order.
      names.forEach((name, k) => {
        const col = out.columns.get(name) as Float64Array;
        for (let i = 0; i < 3000; i++) expect(Math.abs(col[i] - here.data[i * 3 + k])).toBeLessThan(1e-6);
      });
      const preds = await (await ppf.predict(input, { columns, idColumn: "y", client })).compute({ client });
      const y = preds.columns.get("y") as Int32Array;
      const p = preds.columns.get("prediction") as Float64Array;
      let ok = 0;
      for (let i = 0; i < preds.rows; i++) if (y[i] === p[i]) ok++;
      expect(ok / preds.rows).toBeGreaterThan(0.7);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);
});

describe("tfjs data-parallel training on LocalCluster(2 workers x 2 threads, in this process)", () => {
  let client: Client;
  beforeAll(async () => {
    client = await Client.connect({ nWorkers: 2, threadsPerWorker: 2, processes: false });
  }, 120_000);
  afterAll(async () => {
    await client?.close();
  });

  it("still equals single-process training when step tasks may run in either thread of a worker", async () => {
    const futs = await client.scatterMany(parts, { hash: false });
    const p = { ...params, learningRate: 0.01 };
    const dist = new KerasClassifier(p);
    await dist.fit(futs, undefined, { client });
    const local = new KerasClassifier(p);
    await local.fit(parts);
    expect(maxDiff(dist.toJSON().state as KerasState, local.toJSON().state as KerasState)).toBeLessThan(1e-5);
    const d = dist.lastDistributed!;
    expect(d.steps).toBe(24);
    expect(d.groups).toBeGreaterThanOrEqual(1);
    expect(d.groups).toBeLessThanOrEqual(4);
    for (const f of futs) f.release();
  }, 180_000);
});
