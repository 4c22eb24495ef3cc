/**
 * Distributed XGBoost training on partitions held by two worker processes: skein's rabit tracker
 * (link layout as XGBoost 1.7's Python tracker), one participant per worker process holding
 * rows, the model back on the client; accuracy against single-process training, a participant
 * that never joins, a participant that fails, empty workers left out.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../src/index.js";
import type { Future } from "../src/client/future.js";
import { MatrixCollection, XYCollection } from "../src/data/matrix-collection.js";
import type { Matrix } from "../src/data/matrix.js";
import type { XYPartition } from "../src/data/types.js";
import { rocAucScore } from "../estimators/metrics.js";
import { ParallelPostFit } from "../estimators/parallel.js";
import { DMatrix, XGBClassifier, XGBRegressor, linkMap, train } from "../estimators/xgboost/index.js";
import { blockFor } from "./fixtures/xgb/tasks.js";

/** A noisy linear problem (AUC well below 1), deterministic: xorshift from `seed`. */
function problem(n: number, seed: number, classes = 2): XYPartition {
  const p = 8;
  const X = new Float64Array(n * p);
  const y = new Float64Array(n);
  let s = seed >>> 0 || 1;
  const rnd = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  for (let i = 0; i < n; i++) {
    let z = 0;
    for (let j = 0; j < p; j++) {
      const v = rnd() * 2 - 1;
      X[i * p + j] = j === 7 && i % 11 === 0 ? NaN : v;
      z += (j < 4 ? 1 / (j + 1) : 0) * v;
    }
    z += Math.sin(3 * X[i * p + 4]) * 0.5 + (rnd() - 0.5) * 1.2;
    y[i] = classes === 2 ? (z > 0 ? 1 : 0) : z < -0.4 ? 0 : z < 0.4 ? 1 : 2;
  }
  return { X: { rows: n, cols: p, data: X, columns: ["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"] }, y };
}

function concat(parts: XYPartition[]): { X: Matrix; y: Float64Array } {
  const rows = parts.reduce((a, q) => a + q.X.rows, 0);
  const p = parts[0].X.cols;
  const X = new Float64Array(rows * p);
  const y = new Float64Array(rows);
  let at = 0;
  for (const q of parts) {
    X.set(q.X.data, at * p);
    y.set(q.y, at);
    at += q.X.rows;
  }
  return { X: { rows, cols: p, data: X, columns: parts[0].X.columns }, y };
}

interface Arr { dtype: "f4" | "f8"; shape: number[]; b64: string }
const distOracle = JSON.parse(readFileSync(new URL("./fixtures/xgb/dist-oracle.json", import.meta.url), "utf8")) as {
  params: Record<string, string | number>;
  rounds: number;
  shards: { X: Arr; y: Arr }[];
  Xtest: Arr;
  predict: Arr;
  evalsResult: Record<string, Record<string, number[]>>;
  modelSha256: string;
};

function vec(a: Arr): Float64Array {
  const b = Buffer.from(a.b64, "base64");
  const bytes = new Uint8Array(b.length);
  bytes.set(b);
  return Float64Array.from(a.dtype === "f4" ? new Float32Array(bytes.buffer) : new Float64Array(bytes.buffer));
}

let client: Client;
let workers: { address: string; name: string }[];
const trainParts = [problem(3000, 11), problem(3000, 12), problem(3000, 13), problem(3000, 14)];
const holdout = problem(6000, 99);
let futures: Future<XYPartition>[];

beforeAll(async () => {
  client = await Client.connect({ nWorkers: 2, threadsPerWorker: 1 });
  workers = (await client.workers()).sort((a, b) => (a.name < b.name ? -1 : 1));
  // Two partitions on each worker, placed explicitly.
  futures = [
    ...(await client.scatterMany(trainParts.slice(0, 2), { workers: [workers[0].address] })),
    ...(await client.scatterMany(trainParts.slice(2), { workers: [workers[1].address] })),
  ];
}, 60_000);

afterAll(async () => {
  await client?.close();
});

const params = { objective: "binary:logistic", tree_method: "hist", max_depth: 4, eta: 0.3, seed: 3 };

describe("the tracker's link layout", () => {
  it("is XGBoost 1.7's tree + ring (Python's RabitTracker.get_link_map)", () => {
    expect(linkMap(1)).toEqual({ tree: [[]], parent: [-1], ring: [[0, 0]] });
    expect(linkMap(4)).toEqual({ tree: [[1, 3], [0, 2], [1], [0]], parent: [-1, 0, 1, 0], ring: [[3, 1], [0, 2], [1, 3], [2, 0]] });
    const m = linkMap(10);
    expect(m.tree.map((t) => [...t].sort((a, b) => a - b))).toEqual([[1, 9], [0, 2, 6], [1, 3, 4], [2], [2], [6], [1, 5], [9], [9], [0, 7, 8]]);
    expect(m.parent).toEqual([-1, 0, 1, 2, 2, 6, 1, 9, 9, 0]);
    expect(m.ring).toEqual([[9, 1], [0, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7], [6, 8], [7, 9], [8, 0]]);
  });
});

describe("distributed training on two worker processes", () => {
  it("trains with one participant per worker and reaches single-process AUC (within 0.002)", async () => {
    const res = await train(client, params, futures, { numBoostRound: 30 });
    expect(res.participants.map((p) => [p.name, p.rank, p.rows, p.partitions])).toEqual([
      [workers[0].name, 0, 6000, 2],
      [workers[1].name, 1, 6000, 2],
    ]);
    expect(res.booster.boostedRounds()).toBe(30);
    const all = concat(trainParts);
    const dtrain = DMatrix.create(all.X, { label: all.y });
    const local = train(params, dtrain, { numBoostRound: 30 });
    const dtest = DMatrix.create(holdout.X);
    const aucDist = rocAucScore(holdout.y, res.booster.predict(dtest).values);
    const aucLocal = rocAucScore(holdout.y, local.booster.predict(dtest).values);
    expect(aucLocal).toBeGreaterThan(0.8);
    expect(aucLocal).toBeLessThan(0.99);
    expect(Math.abs(aucDist - aucLocal)).toBeLessThanOrEqual(0.002);
    for (const x of [dtrain, dtest]) x.free();
    local.booster.free();
    res.booster.free();
  }, 60_000);

  it("with one participant the model is the single-process model, byte for byte", async () => {
    const res = await train(client, params, futures.slice(0, 2), { numBoostRound: 10 });
    expect(res.participants.map((p) => p.name)).toEqual([workers[0].name]);
    const all = concat(trainParts.slice(0, 2));
    const dtrain = DMatrix.create({ rows: all.X.rows, cols: all.X.cols, data: all.X.data }, { label: all.y });
    const local = train(params, dtrain, { numBoostRound: 10 });
    expect(Buffer.from(res.booster.save("json")).toString()).toBe(Buffer.from(local.booster.save("json")).toString());
    dtrain.free();
  }, 60_000);

  it("evaluates eval sets over all participants' rows; early stopping stops every rank at the same round", async () => {
    const halves: XYPartition[] = [0, 1].map((h) => ({
      X: { rows: 3000, cols: 8, data: holdout.X.data.slice(h * 24000, (h + 1) * 24000) },
      y: holdout.y.slice(h * 3000, (h + 1) * 3000),
    }));
    const ev = [
      ...(await client.scatterMany([halves[0]], { workers: [workers[0].address] })),
      ...(await client.scatterMany([halves[1]], { workers: [workers[1].address] })),
    ];
    const res = await train(client, { ...params, eta: 0.5, max_depth: 6, eval_metric: "logloss" }, futures, {
      numBoostRound: 300,
      evals: [[futures, "train"], [ev, "valid"]],
      earlyStoppingRounds: 5,
    });
    const valid = res.evalsResult.valid.logloss;
    expect(res.bestIteration).toBeLessThan(290);
    expect(valid.length).toBe(res.bestIteration! + 6);
    expect(res.bestScore).toBe(Math.min(...valid));
    expect(res.booster.boostedRounds()).toBe(valid.length);
    // The metric is over both workers' rows: the same as evaluating the model here on all of them.
    const dvalid = DMatrix.create(holdout.X, { label: holdout.y });
    const line = res.booster.evalSet([[dvalid, "v"]], 0);
    expect(Number(line.split(":")[1])).toBeCloseTo(valid[valid.length - 1], 5);
    dvalid.free();
    for (const f of ev) f.release();
  }, 60_000);

  it("two participants train the same model as Python's xgboost 1.7.4 with two rabit participants (same shards)", async () => {
    const o = distOracle;
    const shards = o.shards.map((sh) => ({ X: { rows: sh.X.shape[0], cols: sh.X.shape[1], data: vec(sh.X) }, y: vec(sh.y) }));
    const fs = [
      ...(await client.scatterMany([shards[0]], { workers: [workers[0].address] })),
      ...(await client.scatterMany([shards[1]], { workers: [workers[1].address] })),
    ];
    const res = await train(client, o.params, fs, { numBoostRound: o.rounds, evals: [[fs, "train"]] });
    expect(createHash("sha256").update(res.booster.save("json")).digest("hex")).toBe(o.modelSha256);
    expect(res.evalsResult).toEqual(o.evalsResult);
    const dtest = DMatrix.create({ rows: o.Xtest.shape[0], cols: o.Xtest.shape[1], data: vec(o.Xtest) });
    expect(Array.from(res.booster.predict(dtest).values)).toEqual(Array.from(new Float32Array(vec(o.predict))));
    dtest.free();
    for (const f of fs) f.release();
  }, 60_000);

  it("XGBClassifier.fit(XYCollection) trains on the cluster; the fitted model predicts locally", async () => {
    const coll = new XYCollection(futures, trainParts.map((q) => q.X.rows), trainParts[0].X.columns!);
    const est = await new XGBClassifier({ nEstimators: 20, maxDepth: 4, treeMethod: "hist" }).fit(coll);
    expect(Array.from(est.classes())).toEqual([0, 1]);
    const proba = est.predictProba(holdout.X);
    expect(proba.cols).toBe(2);
    expect(rocAucScore(holdout.y, proba.data.filter((_, i) => i % 2 === 1))).toBeGreaterThan(0.8);
    expect(est.featureImportances.length).toBe(8);
    expect(Object.keys(est.getScore()).every((k) => k.startsWith("f"))).toBe(true);
    expect(est.toJSON().state).toMatchObject({ participants: [{ rank: 0, rows: 6000 }, { rank: 1, rows: 6000 }] });
  }, 60_000);

  it("ParallelPostFit predicts with a distributed fit on partitions, in the workers", async () => {
    const coll = new XYCollection(futures, trainParts.map((q) => q.X.rows), trainParts[0].X.columns!);
    const est = await new XGBClassifier({ nEstimators: 10, maxDepth: 3 }).fit(coll);
    const halves = [
      { rows: 3000, cols: 8, data: holdout.X.data.slice(0, 3000 * 8), columns: holdout.X.columns },
      { rows: 3000, cols: 8, data: holdout.X.data.slice(3000 * 8), columns: holdout.X.columns },
    ];
    const parts = [
      ...(await client.scatterMany([halves[0]], { workers: [workers[0].address] })),
      ...(await client.scatterMany([halves[1]], { workers: [workers[1].address] })),
    ];
    const ppf = new ParallelPostFit(est);
    const out = await (await ppf.predictProba(new MatrixCollection(parts, [3000, 3000], holdout.X.columns!), { client })).compute({ client });
    const want = est.predictProba(holdout.X);
    const p1 = out.columns.get("proba_1") as Float64Array;
    expect(p1.length).toBe(6000);
    for (let i = 0; i < 6000; i += 997) expect(p1[i]).toBe(want.data[2 * i + 1]);
    for (const f of parts) f.release();
  }, 60_000);

  it("multiclass labels are encoded by the classes found on the workers", async () => {
    const parts = [problem(2000, 21, 3), problem(2000, 22, 3)];
    for (const q of parts) for (let i = 0; i < q.y.length; i++) q.y[i] = q.y[i] * 10 + 5; // classes 5, 15, 25
    const fs = [
      ...(await client.scatterMany([parts[0]], { workers: [workers[0].address] })),
      ...(await client.scatterMany([parts[1]], { workers: [workers[1].address] })),
    ];
    const est = await new XGBClassifier({ nEstimators: 10, maxDepth: 3 }).fit(fs);
    expect(Array.from(est.classes())).toEqual([5, 15, 25]);
    const pred = est.predict(parts[0].X);
    let right = 0;
    for (let i = 0; i < pred.length; i++) right += pred[i] === parts[0].y[i] ? 1 : 0;
    expect(right / pred.length).toBeGreaterThan(0.7);
    for (const f of fs) f.release();
  }, 60_000);

  it("XGBRegressor.fit on a MatrixCollection with label and weight columns", async () => {
    const mk = (q: XYPartition): Matrix => {
      const n = q.X.rows;
      const data = new Float64Array(n * 10);
      for (let i = 0; i < n; i++) {
        data[i * 10] = q.y[i] * 3;
        data.set(q.X.data.subarray(i * 8, i * 8 + 8), i * 10 + 1);
        data[i * 10 + 9] = 1;
      }
      return { rows: n, cols: 10, data, columns: ["target", ...q.X.columns!, "w"] };
    };
    const fs = [
      ...(await client.scatterMany([mk(trainParts[0])], { workers: [workers[0].address] })),
      ...(await client.scatterMany([mk(trainParts[2])], { workers: [workers[1].address] })),
    ];
    const coll = new MatrixCollection(fs, [3000, 3000], ["target", ...trainParts[0].X.columns!, "w"]);
    await expect(new XGBRegressor().fit(coll)).rejects.toThrow('skein xgboost: training data: a MatrixCollection needs its label column named: { data, label: "<column>" }');
    await expect(new XGBRegressor().fit({ data: coll, label: "nope" })).rejects.toThrow('skein xgboost: training data: label column "nope" is not among the columns (target, f0, f1, f2, f3, f4, f5, f6, f7, w)');
    const est = await new XGBRegressor({ nEstimators: 15, maxDepth: 3 }).fit({ data: coll, label: "target", weight: "w" });
    expect(est.getBooster().numFeatures()).toBe(8);
    expect(Object.keys(est.getScore()).every((k) => /^f\d$/.test(k))).toBe(true);
    const p = est.predict(holdout.X);
    let se = 0;
    let base = 0;
    for (let i = 0; i < p.length; i++) {
      se += (p[i] - holdout.y[i] * 3) ** 2;
      base += (1.5 - holdout.y[i] * 3) ** 2;
    }
    expect(se).toBeLessThan(base * 0.6);
    for (const f of fs) f.release();
  }, 60_000);

  it("concurrent trainings from one client run one after the other", async () => {
    const [r1, r2] = await Promise.all([
      train(client, params, futures, { numBoostRound: 3, joinTimeoutMs: 20_000 }),
      train(client, { ...params, max_depth: 2 }, futures, { numBoostRound: 4, joinTimeoutMs: 20_000 }),
    ]);
    expect([r1.booster.boostedRounds(), r2.booster.boostedRounds()]).toEqual([3, 4]);
    expect([r1.participants.length, r2.participants.length]).toEqual([2, 2]);
  }, 60_000);

  it("a worker holding only empty partitions is left out", async () => {
    const empty: XYPartition = { X: { rows: 0, cols: 8, data: new Float64Array(0) }, y: new Float64Array(0) };
    const [e] = await client.scatterMany([empty], { workers: [workers[1].address] });
    const res = await train(client, params, [futures[0], e], { numBoostRound: 5 });
    expect(res.participants.map((p) => [p.name, p.rows])).toEqual([[workers[0].name, 3000]]);
    e.release();
  }, 60_000);

  it("a participant that fails makes training fail with its worker and XGBoost's message", async () => {
    const bad: XYPartition = { X: { rows: 2, cols: 8, data: new Float64Array(16) }, y: Float64Array.of(0, 7) };
    const [b] = await client.scatterMany([bad], { workers: [workers[1].address] });
    await expect(train(client, params, [futures[0], b], { numBoostRound: 5 })).rejects.toThrow(
      new RegExp(`skein xgboost: participant rank 1 on worker ${workers[1].name} \\(.*\\) failed: .*label must be in \\[0,1\\]`),
    );
    b.release();
  }, 60_000);

  it("a participant that never joins fails training within the timeout, naming its worker; the cluster trains again after", async () => {
    let busy: Future<number> | undefined;
    const started = Date.now();
    await expect(
      train(client, params, futures, {
        numBoostRound: 5,
        joinTimeoutMs: 1500,
        // Once the participants are chosen, worker-1's only thread gets a long task first.
        onPlan: async (plan) => {
          expect(plan.map((p) => p.name)).toEqual([workers[0].name, workers[1].name]);
          const marker = join(mkdtempSync(join(tmpdir(), "skein-xgb-")), "started");
          busy = client.submitWith({ workers: [workers[1].address], pure: false }, blockFor, 5000, marker);
          while (!existsSync(marker)) await new Promise((r) => setImmediate(r));
        },
      }),
    ).rejects.toThrow(`skein xgboost: participant rank 1 on worker ${workers[1].name} (${workers[1].address}) did not join the tracker within 1500 ms`);
    expect(Date.now() - started).toBeLessThan(4500);
    expect(await busy!.result()).toBe(5000);
    // Both task threads are usable again (rank 0's failed init was reset).
    const res = await train(client, params, futures, { numBoostRound: 5 });
    expect(res.participants.length).toBe(2);
  }, 60_000);
});
