/**
 * GLM estimators against scikit-learn 1.2.1 on a small problem, the estimator contract
 * (checkEstimator), and distributed fits equal to local ones.
 *
 * Reference numbers: `/usr/bin/python3 test/fixtures/glm-sklearn-ref.py` (it rebuilds the data of
 * test/fixtures/glm-data.ts and fits with tol 1e-12); its JSON output is pasted below as REF.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../src/index.js";
import { makeClassification } from "../src/data/index.js";
import { checkEstimator } from "../estimators/checks.js";
import { LinearRegression, LogisticRegression, PoissonRegression } from "../estimators/glm.js";
import { fromJSON, loadEstimator, saveEstimator } from "../estimators/base.js";
import type { Matrix } from "../src/data/matrix.js";
import { giveF64, takeF64 } from "../src/data/byte-pool.js";
import { scratchArena } from "../src/data/f64-arena.js";
import { GlmSimd } from "../estimators/kernels/glm-simd.js";
import { setWasmKernels } from "../estimators/kernels/instance.js";
import { logisticData, partitionsOf } from "./fixtures/glm-data.js";

const REF = {"logistic_l2": {"coef": [0.897114349099336, -1.0008901785535356, 1.3531155641555352], "intercept": [0.4857636187137931], "objective": 47.04944354369761}, "logistic_l1": {"coef": [0.7130734591488938, -0.8318481333536454, 1.2245712088965193], "intercept": [0.4664960840325054], "objective": 30.299531786425586}, "logistic_en": {"coef": [0.7555684376328197, -0.8581725487260593, 1.1984827342501219], "intercept": [0.5103479178238656], "objective": 29.44110406199884}, "logistic_balanced": {"coef": [0.9835140515955155, -1.012183051192967, 1.4494221384483965], "intercept": [-0.6038102151471516], "objective": 55.97481087979602}, "multinomial": {"coef": [-0.8157681879048632, -1.3839940797382901, -1.1011215950071342, 0.002655231180358865, -1.208218817005232, -0.04379418074171026, 0.8131129567245063, 2.592212896743521, 1.144915775748847], "intercept": [1.1508014640531448, 1.8630235009055274, -3.0138249649586637], "objective": 265.6614558597947, "proba0": [0.2201975240577701, 0.5790564715116379, 0.20074600443059204]}, "ovr": {"coef": [-0.9504689209306522, -0.7856268357438492, -1.1723459767445774, -0.06648411679785318, -1.643930421931479, -0.022539854401096484, 0.8762825527376865, 3.6279888673199236, 1.2625419492819068], "intercept": [-0.6666156376942577, 1.385871728617344, -4.961924450117327], "objective": null, "proba0": [0.21483651916702803, 0.5356043435887137, 0.24955913724425824]}, "linear": {"coef": [1.5035552718919747, -1.9802150439845492, 0.4747172439071097], "intercept": [3.0178281634600967], "objective": null}, "ridge": {"coef": [1.4607658266417176, -1.91677952169021, 0.4553410735279438], "intercept": [3.0032983604314456], "objective": null}, "lasso": {"coef": [1.3477684538628645, -1.809625629667997, 0.3133978771906233], "intercept": [3.0882442852007626], "objective": null}, "elasticnet": {"coef": [1.321594701944519, -1.7290469490794236, 0.3692493781535715], "intercept": [2.9890296667305902], "objective": null}, "logistic_weighted": {"coef": [1.0169913495647114, -1.233312931024373, 1.4580399399238768], "intercept": [0.5427594187459788], "objective": 92.39146376197706}, "poisson": {"coef": [0.40894008488521094, -0.4780630171466389, -0.012311509334232532], "intercept": [0.07067062563453508], "objective": null, "score": 0.22478263663489062}};

const { X, y } = logisticData(200, 3, 5);
const n = y.length;
const LABELS3 = [2, 5, 7];
const y3 = new Float64Array(n);
const yreg = new Float64Array(n);
const ycount = new Float64Array(n);
for (let i = 0; i < n; i++) {
  const x0 = X.data[i * 3];
  const x1 = X.data[i * 3 + 1];
  const x2 = X.data[i * 3 + 2];
  y3[i] = LABELS3[y[i] + (x1 > 0.7 ? 1 : 0)];
  yreg[i] = 1.5 * x0 - 2 * x1 + 0.5 * x2 + 3 + 0.3 * Math.sin(7 * i);
  ycount[i] = Math.floor(Math.exp(0.3 * x0 - 0.4 * x1 + 0.5) * (1 + 0.5 * Math.sin(3 * i)));
}

function expectClose(actual: ArrayLike<number>, expected: readonly number[], tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      throw new Error(`value ${i}: ${actual[i]} vs ${expected[i]} (tol ${tol})`);
    }
  }
}

const tight = { tol: 1e-10, maxIter: 5000 };

describe("LogisticRegression matches scikit-learn", () => {
  for (const solver of ["auto", "lbfgs", "newton", "admm", "admmAsync", "proximalGradient", "gradientDescent"] as const) {
    it(`l2, C=0.5 (${solver})`, async () => {
      const m = await new LogisticRegression({ C: 0.5, solver, ...tight, maxIter: 20000 }).fit(X, y);
      expectClose(m.coef, REF.logistic_l2.coef, 1e-5);
      expectClose(m.intercept, REF.logistic_l2.intercept, 1e-5);
      expect(Math.abs(m.objective - REF.logistic_l2.objective) / REF.logistic_l2.objective).toBeLessThan(1e-8);
    });
  }
  for (const solver of ["lbfgs", "admm", "admmAsync", "proximalGradient"] as const) {
    it(`l1, C=0.3 (${solver})`, async () => {
      const m = await new LogisticRegression({ C: 0.3, penalty: "l1", solver, ...tight, maxIter: 20000 }).fit(X, y);
      expectClose(m.coef, REF.logistic_l1.coef, 1e-5);
      expectClose(m.intercept, REF.logistic_l1.intercept, 1e-5);
      expect(Math.abs(m.objective - REF.logistic_l1.objective) / REF.logistic_l1.objective).toBeLessThan(1e-8);
    });
  }
  it("elasticnet, C=0.3, l1Ratio=0.4", async () => {
    const m = await new LogisticRegression({ C: 0.3, penalty: "elasticnet", l1Ratio: 0.4, ...tight }).fit(X, y);
    expectClose(m.coef, REF.logistic_en.coef, 1e-5);
    expect(Math.abs(m.objective - REF.logistic_en.objective) / REF.logistic_en.objective).toBeLessThan(1e-8);
  });
  it('classWeight "balanced" (and the equivalent map)', async () => {
    const m = await new LogisticRegression({ C: 0.5, classWeight: "balanced", ...tight }).fit(X, y);
    expectClose(m.coef, REF.logistic_balanced.coef, 1e-5);
    expectClose(m.intercept, REF.logistic_balanced.intercept, 1e-5);
    expect(Math.abs(m.objective - REF.logistic_balanced.objective) / REF.logistic_balanced.objective).toBeLessThan(1e-8);
    let ones = 0;
    for (const v of y) ones += v;
    const map = { "0": n / (2 * (n - ones)), "1": n / (2 * ones) };
    const m2 = await new LogisticRegression({ C: 0.5, classWeight: map, ...tight }).fit(X, y);
    expectClose(m2.coef, Array.from(m.coef), 1e-7);
  });
  it("sampleWeight", async () => {
    const sw = Float64Array.from({ length: n }, (_, i) => 1 + (i % 3));
    const m = await new LogisticRegression({ C: 0.5, ...tight }).fit(X, y, { sampleWeight: sw });
    expectClose(m.coef, REF.logistic_weighted.coef, 1e-6);
    expectClose(m.intercept, REF.logistic_weighted.intercept, 1e-6);
    expect(Math.abs(m.objective - REF.logistic_weighted.objective) / REF.logistic_weighted.objective).toBeLessThan(1e-10);
  });
  it("multinomial for three classes, labels kept", async () => {
    const m = await new LogisticRegression({ C: 2, ...tight }).fit(X, y3);
    expect(Array.from(m.classes())).toEqual(LABELS3);
    expectClose(m.coef, REF.multinomial.coef, 1e-5);
    expectClose(m.intercept, REF.multinomial.intercept, 1e-5);
    expect(Math.abs(m.objective - REF.multinomial.objective) / REF.multinomial.objective).toBeLessThan(1e-8);
    expectClose(m.predictProba(X).data.subarray(0, 3), REF.multinomial.proba0, 1e-6);
    const pred = m.predict(X);
    expect(LABELS3).toContain(pred[0]);
    expect(m.score(X, y3)).toBeGreaterThan(0.6);
  });
  it('multiClass "ovr"', async () => {
    const m = await new LogisticRegression({ C: 2, multiClass: "ovr", ...tight }).fit(X, y3);
    expectClose(m.coef, REF.ovr.coef, 1e-5);
    expectClose(m.intercept, REF.ovr.intercept, 1e-5);
    expectClose(m.predictProba(X).data.subarray(0, 3), REF.ovr.proba0, 1e-6);
    expect(m.decisionFunction(X).length).toBe(3 * n);
  });
  it("predict / predictProba / decisionFunction agree (binary)", async () => {
    const m = await new LogisticRegression({ C: 0.5 }).fit(X, y);
    const d = m.decisionFunction(X);
    const p = m.predictProba(X);
    const pred = m.predict(X);
    for (let i = 0; i < n; i++) {
      expect(p.data[2 * i + 1]).toBeCloseTo(1 / (1 + Math.exp(-d[i])), 12);
      expect(pred[i]).toBe(d[i] > 0 ? 1 : 0);
    }
    expect(m.nIter).toBeGreaterThan(0);
  });
  it("warmStart starts from the previous solution", async () => {
    const m = new LogisticRegression({ C: 0.5, solver: "lbfgs", warmStart: true, ...tight });
    await m.fit(X, y);
    const first = m.nIter;
    await m.fit(X, y);
    expect(m.nIter).toBeLessThan(first);
    expect(m.nIter).toBeLessThanOrEqual(2);
  });
  it("refuses one class and unsupported solver/penalty pairs", async () => {
    await expect(new LogisticRegression().fit(X, new Float64Array(n))).rejects.toThrow("y has 1 class; at least 2 are needed");
    await expect(new LogisticRegression({ penalty: "l1", solver: "newton" }).fit(X, y)).rejects.toThrow(
      'glm: solver "newton" does not support penalty "l1"',
    );
  });
});

describe("LinearRegression and PoissonRegression match scikit-learn", () => {
  it("LinearRegression (no penalty)", async () => {
    const m = await new LinearRegression({ ...tight }).fit(X, yreg);
    expectClose(m.coef, REF.linear.coef, 1e-7);
    expect(m.intercept).toBeCloseTo(REF.linear.intercept[0], 7);
  });
  it('penalty "l2" is Ridge(alpha)', async () => {
    const m = await new LinearRegression({ penalty: "l2", alpha: 2, ...tight }).fit(X, yreg);
    expectClose(m.coef, REF.ridge.coef, 1e-7);
    expect(m.intercept).toBeCloseTo(REF.ridge.intercept[0], 7);
  });
  for (const solver of ["lbfgs", "admm", "admmAsync", "proximalGradient"] as const) {
    it(`penalty "l1" is Lasso(alpha) (${solver})`, async () => {
      const m = await new LinearRegression({ penalty: "l1", alpha: 0.05, solver, ...tight, maxIter: 20000 }).fit(X, yreg);
      expectClose(m.coef, REF.lasso.coef, 1e-6);
      expect(m.intercept).toBeCloseTo(REF.lasso.intercept[0], 6);
    });
  }
  it('penalty "elasticnet" is ElasticNet(alpha, l1Ratio)', async () => {
    const m = await new LinearRegression({ penalty: "elasticnet", alpha: 0.05, l1Ratio: 0.3, ...tight }).fit(X, yreg);
    expectClose(m.coef, REF.elasticnet.coef, 1e-6);
    expect(m.intercept).toBeCloseTo(REF.elasticnet.intercept[0], 6);
  });
  it("PoissonRegression(alpha=0.1) is PoissonRegressor, score is D^2", async () => {
    const m = await new PoissonRegression({ alpha: 0.1, ...tight }).fit(X, ycount);
    expectClose(m.coef, REF.poisson.coef, 1e-6);
    expect(m.intercept).toBeCloseTo(REF.poisson.intercept[0], 6);
    expect(m.score(X, ycount)).toBeCloseTo(REF.poisson.score, 6);
    expect(m.predict(X)[0]).toBeCloseTo(Math.exp(m.decisionFunction(X)[0]), 12);
  });
  it("PoissonRegression refuses negative counts", async () => {
    const bad = ycount.slice();
    bad[17] = -1;
    await expect(new PoissonRegression().fit(X, bad)).rejects.toThrow(
      "glm: y value -1 in partition 0 row 17 is outside the Poisson family's domain",
    );
  });
  it("round-trips through saveEstimator / loadEstimator", async () => {
    const m = await new LogisticRegression({ C: 2 }).fit(X, y3);
    const back = loadEstimator(saveEstimator(m)) as LogisticRegression;
    expect(Array.from(back.predictProba(X).data)).toEqual(Array.from(m.predictProba(X).data));
    const r = await new PoissonRegression({ alpha: 0.1 }).fit(X, ycount);
    expect(Array.from((fromJSON(r.toJSON()) as PoissonRegression).predict(X))).toEqual(Array.from(r.predict(X)));
  });
});

// checkEstimator's regression data has negative targets, outside the Poisson family's domain:
// the checks that fit are left out for PoissonRegression (its fits are tested above).
const POISSON_DOMAIN = "checkEstimator's regression targets are negative, outside the Poisson domain";
const poissonSkips = [
  "fit returns this, and fitting twice gives the same model",
  "fit does not change params or its inputs",
  "clone of a fitted estimator is unfitted with equal params",
  "toJSON -> fromJSON, structuredClone and save -> load give the same predictions",
  "predict with the wrong number of features fails",
  "regressor: learns a linear signal (score > 0.5 on training data)",
  "sampleWeight: unit weights equal no weights, integer weights equal repeated rows",
].map((check) => ({ check, reason: POISSON_DOMAIN }));

describe("checkEstimator LogisticRegression", () => {
  for (const c of checkEstimator(() => new LogisticRegression({ tol: 1e-10 }))) it(c.name, c.run);
});
describe("checkEstimator LinearRegression", () => {
  for (const c of checkEstimator(() => new LinearRegression({ tol: 1e-10 }))) it(c.name, c.run);
});
describe("checkEstimator PoissonRegression", () => {
  for (const c of checkEstimator(() => new PoissonRegression({ tol: 1e-10 }), { skip: poissonSkips })) it(c.name, c.run);
});

describe("distributed fits equal local fits (LocalCluster, processes: false)", () => {
  let client: Client;
  beforeAll(async () => {
    client = await Client.connect({ nWorkers: 2, threadsPerWorker: 1, processes: false });
  });
  afterAll(async () => {
    await client?.close();
  });

  it("binary and multinomial logistic on scattered partitions", async () => {
    for (const [yy, opts] of [
      [y, { C: 0.5, classWeight: "balanced" as const }],
      [y3, { C: 2 }],
      [y3, { C: 2, multiClass: "ovr" as const }],
    ] as const) {
      const futs = await client.scatterMany(partitionsOf(X, yy, 3));
      const dist = await new LogisticRegression({ ...opts, ...tight }).fit(futs, undefined, { client });
      const local = await new LogisticRegression({ ...opts, ...tight }).fit(X, yy);
      expect(Math.abs(dist.objective - local.objective) / local.objective).toBeLessThan(1e-8);
      expectClose(dist.coef, Array.from(local.coef), 1e-6);
      expect(Array.from(dist.classes())).toEqual(Array.from(local.classes()));
    }
  });

  it("regressors on scattered partitions, and an XYCollection from a Frame", async () => {
    const futs = await client.scatterMany(partitionsOf(X, ycount, 4));
    const dist = await new PoissonRegression({ alpha: 0.1, ...tight }).fit(futs, undefined, { client });
    expectClose(dist.coef, REF.poisson.coef, 1e-6);
    const xy = await makeClassification({ nSamples: 3000, nFeatures: 4, npartitions: 3, seed: 2 }).splitXY("y").persist({ client });
    const whole = await xy.compute({ client });
    const a = await new LogisticRegression({ ...tight }).fit(xy, undefined, { client });
    const b = await new LogisticRegression({ ...tight }).fit(whole.X as Matrix, whole.y);
    expect(Math.abs(a.objective - b.objective) / b.objective).toBeLessThan(1e-8);
  });

  it("a NaN in a partition names the partition and column", async () => {
    const parts = partitionsOf(X, y, 3);
    parts[1].X.data[5 * 3 + 2] = NaN;
    const futs = await client.scatterMany(parts);
    await expect(new LogisticRegression().fit(futs, undefined, { client })).rejects.toThrow("glm: column 2 of partition 1 has NaN at row 5");
  });
});

describe.each([
  ["the JavaScript loops", "plain", false],
  ["the wasm SIMD kernels, columns in the scratch arena (read in place)", "arena", true],
  ["the wasm SIMD kernels, plain columns (staged)", "plain", true],
  ["the wasm SIMD kernels, columns in shared memory (staged)", "shared", true],
] as const)("predictColumns (ParallelPostFit's column-wise path) through %s", (_how, where, simd) => {
  const taken: Float64Array[] = [];
  beforeAll(() => setWasmKernels(simd));
  afterAll(() => {
    setWasmKernels(true);
    taken.splice(0).forEach(giveF64);
  });
  /** The features of X as columns, with `pad` extra rows before and after (the method reads rows lo..hi only). */
  function columnsOf(M: Matrix, pad: number): Float64Array[] {
    return Array.from({ length: M.cols }, (_, j) => {
      const n = M.rows + 2 * pad;
      const c = where === "arena" ? takeF64(n) : where === "shared" ? new Float64Array(new SharedArrayBuffer(n * 8)) : new Float64Array(n);
      if (where === "arena") {
        taken.push(c);
        expect(scratchArena().offsetOf(c)).toBeGreaterThanOrEqual(0);
      }
      c.fill(NaN);
      for (let i = 0; i < M.rows; i++) c[pad + i] = M.data[i * M.cols + j];
      return c;
    });
  }
  // 2,601 rows: more than one internal pass of 1,024 rows, and an odd last pass (the SIMD
  // kernels work on pairs of rows).
  const big: Matrix = { rows: 2601, cols: 3, data: Float64Array.from({ length: 7803 }, (_, i) => X.data[i % X.data.length] + (i % 13) / 50) };

  it("gives the same bits as predict / predictProba on a Matrix, for every model kind", async () => {
    const models = [
      await new LogisticRegression().fit(X, y),
      await new LogisticRegression({ C: 2 }).fit(X, y3),
      await new LogisticRegression({ C: 2, multiClass: "ovr" }).fit(X, y3),
      await new LinearRegression({ penalty: "l2" }).fit(X, yreg),
      await new PoissonRegression().fit(X, ycount),
    ];
    const pad = 5;
    const cols = columnsOf(big, pad);
    // Which path runs.
    const kernels = GlmSimd.open(cols, new Float64Array(3), 1, 1024);
    kernels?.close();
    expect(kernels !== undefined).toBe(simd);
    const takenBefore = scratchArena().takenBytes();
    for (const m of models) {
      const want = m.predict(big);
      const out = new Float64Array(big.rows + 2 * pad);
      expect(m.predictColumns("predict", cols, pad, pad + big.rows, [out])).toBe(true);
      expect(Array.from(out.subarray(pad, pad + big.rows)), `${m.estimatorType} predict`).toEqual(Array.from(want));
      if (!(m instanceof LogisticRegression)) {
        expect(m.predictColumns("predictProba", cols, pad, pad + big.rows, [out])).toBe(false);
        continue;
      }
      const proba = m.predictProba(big);
      const outs = Array.from({ length: proba.cols }, () => new Float64Array(big.rows + 2 * pad));
      expect(m.predictColumns("predictProba", cols, pad, pad + big.rows, outs)).toBe(true);
      for (let k = 0; k < proba.cols; k++) {
        const got = outs[k].subarray(pad, pad + big.rows);
        for (let i = 0; i < big.rows; i++) if (got[i] !== proba.data[i * proba.cols + k]) throw new Error(`class ${k}, row ${i}: ${got[i]} vs ${proba.data[i * proba.cols + k]}`);
      }
      // The wrong number of outputs: declined, nothing written.
      expect(m.predictColumns("predictProba", cols, pad, pad + big.rows, [new Float64Array(big.rows + 2 * pad)])).toBe(false);
    }
    // The kernels' scratch went back.
    expect(scratchArena().takenBytes()).toBe(takenBefore);
  });

  it("refuses non-finite features as predict does, naming the row and column, and a wrong width", async () => {
    const m = await new LogisticRegression().fit(X, y);
    const cols = columnsOf(big, 0);
    cols[2][1500] = Infinity;
    const out = [new Float64Array(big.rows), new Float64Array(big.rows)];
    expect(() => m.predictColumns("predictProba", cols, 0, big.rows, out)).toThrow("LogisticRegression.predictProba: X has a non-finite value (Infinity) at row 1500, column 2");
    cols[2][1500] = 0;
    cols[0][7] = NaN;
    expect(() => m.predictColumns("predict", cols, 0, big.rows, [out[0]])).toThrow("X has a non-finite value (NaN) at row 7, column 0");
    expect(() => m.predictColumns("predict", cols.slice(0, 2), 0, big.rows, [out[0]])).toThrow("X has 2 columns, the estimator was fitted on 3");
    const r = await new PoissonRegression().fit(X, ycount);
    expect(() => r.predictColumns("predict", cols, 0, big.rows, [out[0]])).toThrow("PoissonRegression.predict: X has a non-finite value (NaN) at row 7, column 0");
  });
});
