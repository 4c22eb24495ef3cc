/**
 * Successive halving and hyperband: schedules and results against scikit-learn 1.2.1, rung sizes
 * and survivors, partialFit continuation, and runs on a LocalCluster (asCompleted-driven).
 *
 * The scikit-learn numbers were computed once with /usr/bin/python3 and scikit-learn 1.2.1:
 *   X[i, j] = sin(i * (j + 1) * 0.7) + j, y[i] = 2 X[i,0] - X[i,1] + 0.5 X[i,2]^2 + cos(i), n = 60;
 *   HalvingGridSearchCV(Pipeline([("scale", StandardScaler()), ("poly", PolynomialFeatures()), ("ridge", Ridge())]),
 *     {"ridge__alpha": [0.01, 0.1, 1, 10, 100, 1000]}, resource="poly__degree", min_resources=1,
 *     max_resources=3, factor=2, cv=3, aggressive_elimination=False / True).fit(X, y)
 * and the n_resources_ / n_candidates_ schedules of HalvingGridSearchCV on n_samples listed below.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Client } from "../src/client/client.js";
import type { Matrix } from "../src/data/matrix.js";
import {
  GridSearchCV,
  HalvingGridSearchCV,
  HalvingRandomSearchCV,
  HyperbandSearchCV,
  NearestCentroid,
  Pipeline,
  checkEstimator,
  PolynomialFeatures,
  RidgeRegression,
  StandardScaler,
  halvingSchedule,
  hyperbandBrackets,
  sampleParams,
  topK,
  uniform,
} from "../estimators/index.js";
import { FIT_LOG, GdRegressor, HELD } from "./fixtures/adaptive-estimators.js";

const n = 60;
const X: Matrix = { rows: n, cols: 3, data: new Float64Array(n * 3) };
const y = new Float64Array(n);
for (let i = 0; i < n; i++) {
  for (let j = 0; j < 3; j++) X.data[i * 3 + j] = Math.sin(i * (j + 1) * 0.7) + j;
  y[i] = 2 * X.data[i * 3] - X.data[i * 3 + 1] + 0.5 * X.data[i * 3 + 2] ** 2 + Math.cos(i);
}
const pipe = () => new Pipeline({ steps: [["scale", new StandardScaler()], ["poly", new PolynomialFeatures()], ["ridge", new RidgeRegression()]] });

function expectClose(actual: unknown, expected: number[], tol: number) {
  const a = actual as number[];
  expect(a.length).toBe(expected.length);
  a.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(tol));
}

const SK = {
  plain: {
    nResources: [1, 2],
    nCandidates: [6, 3],
    iter: [0, 0, 0, 0, 0, 0, 1, 1, 1],
    nRes: [1, 1, 1, 1, 1, 1, 2, 2, 2],
    alpha: [0.01, 0.1, 1, 10, 100, 1000, 1, 0.1, 0.01],
    mean: [0.8875132499348773, 0.8875011307776006, 0.8869331420496239, 0.8526386853999646, 0.43791498917280886, 0.06304186644824294, 0.8873201978325168, 0.8888064099349634, 0.8888392019529955],
    split0: [0.8806637613776207, 0.8804683821067507, 0.8781722011911168, 0.8338560744123293, 0.42360884344633754, 0.06361424398033777, 0.8777189815821006, 0.8805438514460171, 0.8806148561883045],
    meanTrain: [0.8932286518333331, 0.8932234462956448, 0.8927252010845393, 0.8590905188974064, 0.4455065725539546, 0.06943540861145099, 0.8971200360060596, 0.8980221995151408, 0.898036724129672],
    rank: [3, 4, 6, 7, 8, 9, 5, 2, 1],
    bestIndex: 8,
    bestScore: 0.8888392019529955,
    nRemaining: 2,
  },
  aggressive: {
    nResources: [1, 1, 2],
    nCandidates: [6, 3, 2],
    iter: [0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2],
    nRes: [1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2],
    alpha: [0.01, 0.1, 1, 10, 100, 1000, 1, 0.1, 0.01, 0.1, 0.01],
    mean: [0.8875132499348773, 0.8875011307776006, 0.8869331420496239, 0.8526386853999646, 0.43791498917280886, 0.06304186644824294, 0.8869331420496239, 0.8875011307776006, 0.8875132499348773, 0.8888064099349634, 0.8888392019529955],
    rank: [3, 5, 7, 9, 10, 11, 7, 5, 3, 2, 1],
    bestIndex: 10,
    bestScore: 0.8888392019529955,
    nRemaining: 1,
  },
};

describe("successive halving schedule", () => {
  it("matches scikit-learn's n_resources_ / n_candidates_ on n_samples", () => {
    // [nCandidates, nSamples, factor, minResources, aggressive, cv, classifier] -> scikit-learn's attributes
    const cases: [number, number, number, number | "smallest" | "exhaust", boolean, number, boolean, number[], number[], number, number, number][] = [
      [20, 1000, 3, "exhaust", false, 5, false, [111, 333, 999], [20, 7, 3], 111, 3, 3],
      [20, 1000, 3, "smallest", false, 5, false, [10, 30, 90], [20, 7, 3], 10, 5, 3],
      [20, 1000, 3, "smallest", true, 5, false, [90, 270, 810], [20, 7, 3], 10, 5, 3],
      [30, 200, 2, "exhaust", false, 3, true, [12, 24, 48, 96, 192], [30, 15, 8, 4, 2], 12, 5, 5],
      [7, 500, 3, 20, false, 4, false, [20, 60], [7, 3], 20, 3, 2],
      [50, 100, 3, "smallest", true, 3, true, [12, 12, 12, 36], [50, 17, 6, 2], 12, 2, 4],
    ];
    for (const [nc, ns, factor, minR, aggr, cv, clf, res, cands, minOut, possible, required] of cases) {
      const smallest = cv * 2 * (clf ? 2 : 1);
      const s = halvingSchedule(nc, { factor, minResources: typeof minR === "number" ? minR : smallest, maxResources: ns, exhaust: minR === "exhaust", aggressiveElimination: aggr });
      expect({ res: s.nResources, cands: s.nCandidates, min: s.minResources, possible: s.nPossibleIterations, required: s.nRequiredIterations }).toEqual({
        res,
        cands,
        min: minOut,
        possible,
        required,
      });
    }
  });

  it("topK keeps the k best in ascending order, NaN worst, ties stable", () => {
    expect(topK([0.5, NaN, 0.9, 0.1, 0.9], 3)).toEqual([0, 2, 4]);
    expect(topK([NaN, NaN, 1], 2)).toEqual([1, 2]);
  });

  it("hyperband brackets are dask-ml's for max_iter=81, eta=3", () => {
    const b = hyperbandBrackets(81, 3);
    expect(b.map((x) => [x.bracket, x.n, x.r])).toEqual([
      [4, 81, 1],
      [3, 34, 3],
      [2, 15, 9],
      [1, 8, 27],
      [0, 5, 81],
    ]);
    expect(b[0].candidates).toEqual([81, 27, 9, 3, 1]);
    expect(b[0].resources).toEqual([1, 3, 9, 27, 81]);
    expect(b[1].candidates).toEqual([34, 11, 3, 1]);
    expect(b[1].resources).toEqual([3, 9, 27, 81]);
    expect(b[4].candidates).toEqual([5]);
  });
});

describe("HalvingGridSearchCV vs scikit-learn (resource: an estimator param)", () => {
  for (const [name, sk, aggressive] of [
    ["plain", SK.plain, false],
    ["aggressiveElimination", SK.aggressive, true],
  ] as const) {
    it(`${name}: cvResults to 1e-6, the same rungs and the same candidate`, async () => {
      const s = new HalvingGridSearchCV({
        estimator: pipe(),
        paramGrid: { ridge__alpha: [0.01, 0.1, 1, 10, 100, 1000] },
        resource: "poly__degree",
        minResources: 1,
        maxResources: 3,
        factor: 2,
        cv: 3,
        aggressiveElimination: aggressive,
      });
      await s.fit(X, y, { client: null });
      const r = s.cvResults;
      expect(s.nResources).toEqual(sk.nResources);
      expect(s.nCandidates).toEqual(sk.nCandidates);
      expect(s.nRemainingCandidates).toBe(sk.nRemaining);
      expect(r.iter).toEqual(sk.iter);
      expect(r.n_resources).toEqual(sk.nRes);
      expect(r.param_ridge__alpha).toEqual(sk.alpha);
      expect(r.param_poly__degree).toEqual(sk.nRes);
      expectClose(r.mean_test_score, sk.mean, 1e-6);
      expect(r.rank_test_score).toEqual(sk.rank);
      if ("split0" in sk) {
        expectClose(r.split0_test_score, sk.split0, 1e-6);
        expectClose(r.mean_train_score, sk.meanTrain, 1e-6);
      }
      expect(s.bestIndex).toBe(sk.bestIndex);
      expect(s.bestParams).toEqual({ ridge__alpha: 0.01, poly__degree: 2 });
      expect(Math.abs(s.bestScore - sk.bestScore)).toBeLessThanOrEqual(1e-6);
      // The refit best estimator is the pipeline with degree 2.
      expect((s.bestEstimator.getParams() as Record<string, unknown>).poly__degree).toBe(2);
    });
  }

  it("errors: the resource among the searched params, an unknown resource, maxResources auto off nSamples", async () => {
    const base = { estimator: pipe(), cv: 3, minResources: 1, maxResources: 3 } as const;
    await expect(new HalvingGridSearchCV({ ...base, paramGrid: { poly__degree: [1, 2] }, resource: "poly__degree" }).fit(X, y, { client: null })).rejects.toThrow(
      'skein estimators: HalvingGridSearchCV: cannot use parameter "poly__degree" as the resource since it is part of the searched parameters',
    );
    await expect(new HalvingGridSearchCV({ ...base, paramGrid: { ridge__alpha: [1, 2] }, resource: "nope" }).fit(X, y, { client: null })).rejects.toThrow(
      'skein estimators: HalvingGridSearchCV: cannot use resource "nope": it is not a parameter of Pipeline',
    );
    await expect(
      new HalvingGridSearchCV({ estimator: pipe(), paramGrid: { ridge__alpha: [1, 2] }, resource: "poly__degree" }).fit(X, y, { client: null }),
    ).rejects.toThrow('skein estimators: HalvingGridSearchCV: maxResources "auto" is only for resource "nSamples"; give a number for resource "poly__degree"');
  });
});

describe("successive halving on nSamples and partialFit (structure)", () => {
  it("each rung fits on the scheduled fraction of each split, and keeps ceil(n / factor)", async () => {
    FIT_LOG.length = 0;
    const s = new HalvingGridSearchCV({
      estimator: new GdRegressor({ maxIter: 5 }),
      paramGrid: { lr: [0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5] },
      cv: 3,
      factor: 3,
      minResources: "exhaust",
    });
    await s.fit(X, y, { client: null });
    // 9 candidates, factor 3: 3 rungs; exhaust: min = 60 // 9 = 6 -> 6, 18, 54 samples.
    expect(s.nResources).toEqual([6, 18, 54]);
    expect(s.nCandidates).toEqual([9, 3, 1]);
    expect(s.cvResults.iter).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2]);
    // Train sides of the 3 folds hold 40 rows: a rung with r samples trains on floor(r / 60 * 40).
    const fits = FIT_LOG.filter((f) => f.kind === "fit");
    const rowsPerRung = [0, 1, 2].map((i) => [...new Set(fits.slice(i === 0 ? 0 : i === 1 ? 27 : 36, i === 0 ? 27 : i === 1 ? 36 : 39).map((f) => f.rows))]);
    expect(rowsPerRung).toEqual([[4], [12], [36]]);
    expect(fits.length).toBe(27 + 9 + 3 + 1); // + the refit on all 60 rows
    expect(fits[fits.length - 1].rows).toBe(60);
    // The survivors are the best means of the rung before.
    const r = s.cvResults;
    const m0 = (r.mean_test_score as number[]).slice(0, 9);
    const kept = (r.param_lr as number[]).slice(9, 12);
    const best3 = [...m0.keys()].sort((a, b) => m0[a] - m0[b]).slice(6).map((i) => (r.param_lr as number[])[i]);
    expect(kept).toEqual(best3);
  });

  it("resource partialFit: later rungs continue the model with only the missing calls", async () => {
    FIT_LOG.length = 0;
    const s = new HalvingGridSearchCV({
      estimator: new GdRegressor(),
      paramGrid: { lr: [0.01, 0.05, 0.1, 0.2] },
      cv: 2,
      factor: 2,
      resource: "partialFit",
      minResources: 1,
      maxResources: 4,
    });
    await s.fit(X, y, { client: null });
    expect(s.nResources).toEqual([1, 2, 4]);
    expect(s.nCandidates).toEqual([4, 2, 1]);
    const calls = FIT_LOG.filter((f) => f.kind === "partialFit");
    // Rung 0: 4 candidates x 2 splits x 1 call; rung 1: 2 x 2 x (2 - 1); rung 2: 1 x 2 x (4 - 2); refit: 4 calls.
    expect(calls.length).toBe(8 + 4 + 4 + 4);
    // Continued models count their calls from the start: rung 1 ends at 2, rung 2 at 3 then 4.
    expect(calls.slice(8, 12).map((c) => c.calls)).toEqual([2, 2, 2, 2]);
    expect(calls.slice(12, 16).map((c) => c.calls).sort()).toEqual([3, 3, 4, 4]);
    expect(calls.slice(16).map((c) => c.calls)).toEqual([1, 2, 3, 4]);
    expect(s.cvResults.param_lr).toEqual([0.01, 0.05, 0.1, 0.2, 0.1, 0.2, 0.2]);
  });

  it("HalvingRandomSearchCV samples maxResources / minResources candidates (exhaust)", async () => {
    const s = new HalvingRandomSearchCV({
      estimator: new GdRegressor({ maxIter: 3 }),
      paramDistributions: { lr: uniform(0.001, 0.3) },
      cv: 2,
      factor: 2,
      seed: 3,
    });
    await s.fit(X, y, { client: null });
    // smallest: 2 splits x 2 = 4 samples; 60 // 4 = 15 candidates; 1 + floor(log2 15) = 4 rungs.
    expect(s.nCandidates).toEqual([15, 8, 4, 2]);
    expect(s.nResources).toEqual([4, 8, 16, 32]);
    expect(s.cvResults.params.length).toBe(29);
  });
});

describe("hyperband brackets do not wait for each other", () => {
  it("a bracket's next rung is submitted while another bracket's first rung is still running", async () => {
    const dists = { lr: uniform(0.01, 0.5) };
    // maxIter 9: brackets of 9, 5 and 3 candidates, drawn in that order from the seeded samples.
    const lrs = sampleParams(dists, 17, 4).map((p) => p.lr as number);
    let open!: () => void;
    HELD.gate = new Promise<void>((resolve) => (open = resolve));
    HELD.lrs = new Set(lrs.slice(0, 9)); // hold every fit of bracket 0
    try {
      const s = new HyperbandSearchCV({ estimator: new GdRegressor(), paramDistributions: dists, maxIter: 9, cv: 2, seed: 4 });
      const fitting = s.fit(X, y, { client: null });
      // Wait (one event-loop turn at a time) until bracket 1 has moved to its second rung.
      while (!s.rungGraphs.some((r) => r.bracket === 1 && r.iter === 1)) await new Promise<void>((r) => setImmediate(r));
      expect(s.rungGraphs.filter((r) => r.bracket === 0).map((r) => r.iter)).toEqual([0]);
      open();
      await fitting;
      expect(s.nCandidates).toEqual([[9, 3, 1], [5, 1], [3]]);
      // Rows are recorded in the order rungs were submitted: bracket 1's second rung before bracket 0's.
      const order = (s.cvResults.bracket as number[]).map((b, i) => `${b}/${(s.cvResults.iter as number[])[i]}`);
      expect(order.indexOf("1/1")).toBeLessThan(order.indexOf("0/1"));
    } finally {
      HELD.gate = null;
      HELD.lrs = new Set();
    }
  });
});

describe("checkEstimator on the adaptive searches", () => {
  const repeated = { check: "sampleWeight: unit weights equal no weights, integer weights equal repeated rows", reason: "repeated rows change the CV folds and rung sizes" };
  for (const c of checkEstimator(() => new HalvingGridSearchCV({ estimator: new RidgeRegression(), paramGrid: { alpha: [0.1, 1, 10] }, cv: 3, factor: 2 }), { skip: [repeated] })) it(c.name, c.run);
  for (const c of checkEstimator(() => new HalvingRandomSearchCV({ estimator: new NearestCentroid(), paramDistributions: { shrinkThreshold: [null, 0.1, 0.2] }, nCandidates: 3, cv: 3 }))) it(c.name, c.run);
  for (const c of checkEstimator(() => new HyperbandSearchCV({ estimator: new GdRegressor(), paramDistributions: { lr: uniform(0.05, 0.3) }, maxIter: 9, cv: 3 }))) it(c.name, c.run);
});

describe("on a LocalCluster (asCompleted-driven)", () => {
  let client: Client;
  beforeAll(async () => {
    client = await Client.connect({ nWorkers: 2, threadsPerWorker: 1, processes: false });
  }, 60_000);
  afterAll(async () => {
    await client?.close();
  });

  it("HalvingGridSearchCV gives the same cvResults as in this process", async () => {
    const make = () =>
      new HalvingGridSearchCV({
        estimator: pipe(),
        paramGrid: { ridge__alpha: [0.01, 0.1, 1, 10, 100, 1000] },
        resource: "poly__degree",
        minResources: 1,
        maxResources: 3,
        factor: 2,
        cv: 3,
      });
    const s = await make().fit(X, y, { client });
    expectClose(s.cvResults.mean_test_score, SK.plain.mean, 1e-6);
    expect(s.cvResults.param_ridge__alpha).toEqual(SK.plain.alpha);
    expect(s.bestIndex).toBe(SK.plain.bestIndex);
  }, 60_000);

  it("HyperbandSearchCV runs its brackets concurrently and continues models on the workers", async () => {
    const s = new HyperbandSearchCV({ estimator: new GdRegressor(), paramDistributions: { lr: uniform(0.01, 0.5) }, maxIter: 9, cv: 2, seed: 1 });
    const local = await new HyperbandSearchCV(s.getParams(false)).fit(X, y, { client: null });
    await s.fit(X, y, { client });
    // R = 9, eta = 3: brackets of 9, 5 and 3 candidates.
    expect(s.brackets.map((b) => [b.n, b.r])).toEqual([
      [9, 1],
      [5, 3],
      [3, 9],
    ]);
    expect(s.nResources).toEqual([[1, 3, 9], [3, 9], [9]]);
    expect(s.nCandidates).toEqual([[9, 3, 1], [5, 1], [3]]);
    const r = s.cvResults;
    expect(r.params.length).toBe(9 + 3 + 1 + 5 + 1 + 3);
    // Rows arrive per completed rung: compare as sets keyed by (bracket, iter, lr).
    const rows = (x: typeof r) => (x.params as { lr: number }[]).map((p, i) => `${x.bracket[i]}/${x.iter[i]}/${p.lr}/${(x.mean_test_score[i] as number).toFixed(10)}`).sort();
    expect(rows(r)).toEqual(rows(local.cvResults));
    expect(s.bestParams).toEqual(local.bestParams);
    expect(s.bestScore).toBeCloseTo(local.bestScore, 12);
  }, 60_000);

  it("with cache: a re-run loads every fit and score from disk and reports the same results", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "skein-halving-cache-"));
    try {
      const make = () =>
        new HalvingGridSearchCV({ estimator: new GdRegressor(), paramGrid: { lr: [0.01, 0.05, 0.1, 0.2] }, cv: 2, factor: 2, resource: "partialFit", minResources: 1, maxResources: 4 });
      const a = await make().fit(X, y, { client, cache: dir });
      const files = readdirSync(dir).sort();
      // Models of 4 + 2 + 1 candidates x 2 splits, and as many scores; nothing else.
      expect(files.filter((f) => f.startsWith("adaptive-pf-")).length).toBe(14);
      expect(files.filter((f) => f.startsWith("adaptive-score-")).length).toBe(14);
      expect(files.length).toBe(28);
      const b = await make().fit(X, y, { client, cache: dir });
      expect(readdirSync(dir).sort()).toEqual(files);
      expect(b.cvResults.mean_test_score).toEqual(a.cvResults.mean_test_score);
      expect(b.cvResults.params).toEqual(a.cvResults.params);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("verbose: one line per rung", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      await new HalvingGridSearchCV({ estimator: new GdRegressor({ maxIter: 2 }), paramGrid: { lr: [0.01, 0.1, 0.2] }, cv: 2, factor: 3 }).fit(X, y, { client, verbose: 1, progress: false });
      expect(log.mock.calls.map((c) => c[0])).toEqual([
        "HalvingGridSearchCV: iter 0: 3 candidates, n_resources 20, fitting 2 folds each (6 fits)",
        "HalvingGridSearchCV: iter 1: 1 candidates, n_resources 60, fitting 2 folds each (2 fits)",
      ]);
    } finally {
      log.mockRestore();
    }
  }, 60_000);

  it("GridSearchCV verbose: scikit-learn's summary line with the graph's task counts", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      const g = new GridSearchCV({ estimator: pipe(), paramGrid: { poly__degree: [1, 2], ridge__alpha: [0.1, 1] }, cv: 3 });
      await g.fit(X, y, { client, verbose: 1, progress: false });
      expect(log.mock.calls.map((c) => c[0])).toEqual([
        `GridSearchCV: fitting 3 folds for each of 4 candidates, totalling 12 fits (graph: ${g.graph!.nTasks} tasks, 21 fit tasks, 15 saved by sharing)`,
      ]);
    } finally {
      log.mockRestore();
    }
  }, 60_000);
});
