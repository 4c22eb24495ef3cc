/**
 * skein's XGBClassifier / XGBRegressor against Python's xgboost 1.7.4 (sklearn wrapper) on the
 * same data, params and seed: test/fixtures/xgb/oracle.json, written by test/fixtures/xgb/make.py.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Matrix } from "../src/data/matrix.js";
import { XGBClassifier, XGBRanker, XGBRegressor } from "../estimators/xgboost/index.js";

interface Arr { dtype: "f4" | "f8"; shape: number[]; b64: string }
interface Case {
  estimator: "XGBClassifier" | "XGBRegressor" | "XGBRanker";
  qid?: Arr;
  qidTest?: Arr;
  params: Record<string, unknown>;
  data?: string;
  X?: Arr; y?: Arr; Xtest?: Arr; ytest?: Arr;
  predict: Arr;
  predictProba?: Arr;
  featureImportances: Arr;
  score?: number;
  modelSha256: string;
  evalsResult?: Record<string, Record<string, number[]>>;
  bestIteration?: number;
  bestScore?: number;
  boostedRounds?: number;
}

const oracle = JSON.parse(readFileSync(new URL("./fixtures/xgb/oracle.json", import.meta.url), "utf8")) as {
  xgboost: string;
  cases: Record<string, Case>;
};

function vec(a: Arr): Float64Array {
  const b = Buffer.from(a.b64, "base64");
  const bytes = new Uint8Array(b.length);
  bytes.set(b);
  return Float64Array.from(a.dtype === "f4" ? new Float32Array(bytes.buffer) : new Float64Array(bytes.buffer));
}

function mat(a: Arr): Matrix {
  return { rows: a.shape[0], cols: a.shape[1], data: vec(a) };
}

function data(name: string) {
  const c = oracle.cases[name];
  const d = c.data ? oracle.cases[c.data] : c;
  return { c, X: mat(d.X!), y: vec(d.y!), Xte: mat(d.Xtest!), yte: vec(d.ytest!) };
}

/** SHA-256 of the fitted model as XGBoost's JSON: equal to Python's means the same model, byte for byte. */
function modelHash(est: XGBClassifier | XGBRegressor | XGBRanker): string {
  return createHash("sha256").update(est.getBooster().save("json")).digest("hex");
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  expect(worst).toBeLessThanOrEqual(tol);
}

describe("XGBoost estimators match Python's xgboost 1.7.4", () => {
  // The models are byte-identical (same JSON) to Python's; predictions are then checked too.
  it("uses the same library version as the fixture", () => {
    expect(oracle.xgboost).toBe("1.7.4");
  });

  for (const name of ["binary", "multiclass"]) {
    it(`XGBClassifier ${name}: same probabilities, classes, importances and score`, async () => {
      const { c, X, y, Xte, yte } = data(name);
      // The fixture's params are Python's snake_case names: accepted as they are.
      const est = await new XGBClassifier({ ...c.params, nJobs: 1 }).fit(X, y);
      expect(modelHash(est)).toBe(c.modelSha256);
      const proba = est.predictProba(Xte);
      expect([proba.rows, proba.cols]).toEqual(c.predictProba!.shape);
      expectClose(proba.data, vec(c.predictProba!), 1e-6);
      expect(Array.from(est.predict(Xte))).toEqual(Array.from(vec(c.predict)));
      expectClose(est.featureImportances, vec(c.featureImportances), 1e-6);
      expect(est.score(Xte, yte)).toBeCloseTo(c.score!, 12);
    });
  }

  for (const name of ["regression", "poisson"]) {
    it(`XGBRegressor ${name}: same predictions, importances and score`, async () => {
      const { c, X, y, Xte, yte } = data(name);
      const est = await new XGBRegressor({ ...c.params, nJobs: 1 }).fit(X, y);
      expect(modelHash(est)).toBe(c.modelSha256);
      const p = est.predict(Xte);
      const want = vec(c.predict);
      // Relative to the scale: regression targets are in the hundreds (float32 predictions).
      let scale = 1;
      for (const v of want) scale = Math.max(scale, Math.abs(v));
      expectClose(p, want, 1e-6 * scale);
      expectClose(est.featureImportances, vec(c.featureImportances), 1e-6);
      expect(est.score(Xte, yte)).toBeCloseTo(c.score!, 6);
    });
  }

  it("XGBRanker rank:pairwise with query ids: same model and scores", async () => {
    const { c, X, y, Xte } = data("ranking");
    const est = await new XGBRanker({ ...c.params, nJobs: 1 }).fit(X, y, { qid: vec(c.qid!) });
    expect(modelHash(est)).toBe(c.modelSha256);
    expectClose(est.predict(Xte), vec(c.predict), 1e-6);
    expectClose(est.featureImportances, vec(c.featureImportances), 1e-6);
  });

  it("early stopping: same best iteration, evals result, rounds kept and predictions", async () => {
    const { c, X, y, Xte, yte } = data("binary_early_stopping");
    const est = await new XGBClassifier({ ...c.params, nJobs: 1 }).fit(X, y, { evalSet: [[Xte, yte]] });
    expect(modelHash(est)).toBe(c.modelSha256);
    expect(est.bestIteration).toBe(c.bestIteration);
    expect(est.bestScore).toBe(c.bestScore);
    expect(est.evalsResult()).toEqual(c.evalsResult);
    expect(est.getBooster().boostedRounds()).toBe(c.boostedRounds);
    expectClose(est.predictProba(Xte).data, vec(c.predictProba!), 1e-6);
    expect(Array.from(est.predict(Xte))).toEqual(Array.from(vec(c.predict)));
  });
});
