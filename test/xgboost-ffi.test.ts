/** The libxgboost binding: DMatrix, Booster, train, save/load, and C API errors as JS errors. */
import { describe, expect, it } from "vitest";
import {
  Booster,
  DMatrix,
  communicatorFinalize,
  communicatorInit,
  communicatorIsDistributed,
  communicatorRank,
  communicatorWorldSize,
  XGBoostError,
  parseEvalLine,
  pyFloatString,
  train,
  xgboostAvailable,
  xgboostVersion,
} from "../estimators/xgboost/index.js";

/** 200 x 3, label = x0 > 0; x2 is noise with some NaN. */
function data(n = 200) {
  const X = new Float64Array(n * 3);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    X[i * 3] = Math.sin(i * 1.3);
    X[i * 3 + 1] = Math.cos(i * 0.7);
    X[i * 3 + 2] = i % 5 === 0 ? NaN : Math.sin(i * 12.9898) * 43758.5453 % 1;
    y[i] = X[i * 3] > 0 ? 1 : 0;
  }
  return { X, y, n };
}

const params = { objective: "binary:logistic", tree_method: "hist", max_depth: 3, nthread: 1 };

describe("libxgboost binding", () => {
  it("loads Debian's libxgboost 1.7.4", () => {
    expect(xgboostAvailable()).toBe(true);
    expect(xgboostVersion()).toEqual([1, 7, 4]);
  });

  it("DMatrix from Float64Array and Float32Array: shape, feature names, same model", () => {
    const { X, y, n } = data();
    const d64 = DMatrix.create({ rows: n, cols: 3, data: X, columns: ["a", "b", "c"] }, { label: y });
    const d32 = DMatrix.create({ rows: n, cols: 3, data: new Float32Array(X) }, { label: new Float32Array(y), featureNames: ["a", "b", "c"] });
    expect([d64.numRow(), d64.numCol(), d64.rows, d64.cols]).toEqual([n, 3, n, 3]);
    expect(d64.featureNames()).toEqual(["a", "b", "c"]);
    expect(d32.featureNames()).toEqual(["a", "b", "c"]);
    const a = train(params, d64, { numBoostRound: 5 }).booster;
    const b = train(params, d32, { numBoostRound: 5 }).booster;
    expect(Array.from(a.predict(d32).values)).toEqual(Array.from(b.predict(d64).values));
    expect(a.save("json")).toEqual(b.save("json"));
    expect([...a.featureScore("weight").keys()].every((k) => ["a", "b", "c"].includes(k))).toBe(true);
    for (const m of [d64, d32]) m.free();
  });

  it("reads a subarray view in place (offset into a larger buffer)", () => {
    const { X, y, n } = data();
    const big = new Float64Array(X.length + 30);
    big.set(X, 30);
    const view = DMatrix.create({ rows: n, cols: 3, data: big.subarray(30) }, { label: y });
    const plain = DMatrix.create({ rows: n, cols: 3, data: X }, { label: y });
    const bst = train(params, plain, { numBoostRound: 3 }).booster;
    expect(Array.from(bst.predict(view).values)).toEqual(Array.from(bst.predict(plain).values));
  });

  it("tiny typed arrays (held inside V8's heap) are read correctly", () => {
    const { X, y, n } = data();
    const bst = train(params, DMatrix.create({ rows: n, cols: 3, data: X }, { label: y }), { numBoostRound: 3 }).booster;
    const all = bst.predict(DMatrix.create({ rows: n, cols: 3, data: X })).values;
    for (const i of [1, 7, 42]) {
      const row = new Float64Array([X[i * 3], X[i * 3 + 1], X[i * 3 + 2]]);
      expect(bst.predict(DMatrix.create({ rows: 1, cols: 3, data: row })).values[0]).toBe(all[i]);
      const row32 = new Float32Array([X[i * 3], X[i * 3 + 1], X[i * 3 + 2]]);
      expect(bst.predict(DMatrix.create({ rows: 1, cols: 3, data: row32 })).values[0]).toBe(all[i]);
    }
  });

  it("NaN is missing; a custom missing value is treated the same", () => {
    // Missingness carries the signal: y = 1 when x0 is missing, else x0 > 0.5.
    const n = 200;
    const X = new Float64Array(n * 2);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      X[i * 2] = i % 4 === 0 ? NaN : Math.sin(i * 1.3);
      X[i * 2 + 1] = Math.cos(i * 0.7);
      y[i] = Number.isNaN(X[i * 2]) || X[i * 2] > 0.5 ? 1 : 0;
    }
    const sentinel = X.map((v) => (Number.isNaN(v) ? -999 : v));
    expect(DMatrix.create({ rows: n, cols: 2, data: X }).numNonMissing()).toBe(2 * n - n / 4);
    expect(DMatrix.create({ rows: n, cols: 2, data: sentinel }, { missing: -999 }).numNonMissing()).toBe(2 * n - n / 4);
    expect(DMatrix.create({ rows: n, cols: 2, data: sentinel }).numNonMissing()).toBe(2 * n);
    const model = (data: Float64Array, missing?: number) =>
      new TextDecoder().decode(train(params, DMatrix.create({ rows: n, cols: 2, data }, { label: y, missing }), { numBoostRound: 3 }).booster.save("json"));
    const a = model(X);
    expect(model(sentinel, -999)).toBe(a);
    // -999 as an ordinary value: trees split on it instead of learning a default direction.
    expect(model(sentinel)).not.toBe(a);
  });

  it("weights and base margins reach XGBoost", () => {
    const { X, y, n } = data();
    const d = DMatrix.create({ rows: n, cols: 3, data: X }, { label: y });
    const bst = train(params, d, { numBoostRound: 2 }).booster;
    const plain = bst.predict(d, { outputMargin: true }).values;
    const shifted = DMatrix.create({ rows: n, cols: 3, data: X }, { baseMargin: new Float64Array(n).fill(1) });
    const withMargin = bst.predict(shifted, { outputMargin: true }).values;
    // base_margin replaces base_score (0.5 -> margin 0) as the starting margin.
    for (let i = 0; i < n; i++) expect(withMargin[i]).toBeCloseTo(plain[i] + 1, 5);
    const w = DMatrix.create({ rows: n, cols: 3, data: X }, { label: y, weight: Float64Array.from({ length: n }, (_, i) => 1 + (i % 4)) });
    expect(train(params, w, { numBoostRound: 2 }).booster.save("json")).not.toEqual(bst.save("json"));
  });

  it("save and load in JSON and UBJ give the same predictions; attributes survive", () => {
    const { X, y, n } = data();
    const d = DMatrix.create({ rows: n, cols: 3, data: X }, { label: y });
    const bst = train(params, d, { numBoostRound: 4 }).booster;
    bst.setAttr("note", "hello");
    const json = bst.save("json");
    const ubj = bst.save("ubj");
    const parsed = JSON.parse(new TextDecoder().decode(json)) as { learner: { attributes: Record<string, string> } };
    expect(parsed.learner.attributes.note).toBe("hello");
    expect(ubj).not.toEqual(json);
    const want = Array.from(bst.predict(d).values);
    for (const bytes of [json, ubj]) {
      const loaded = Booster.load(bytes);
      expect(Array.from(loaded.predict(d).values)).toEqual(want);
      expect(loaded.getAttr("note")).toBe("hello");
      expect(loaded.getAttr("absent")).toBeUndefined();
      expect(loaded.boostedRounds()).toBe(4);
      expect(loaded.numFeatures()).toBe(3);
      loaded.free();
    }
    expect((bst.saveConfig().learner as { objective: { name: string } }).objective.name).toBe("binary:logistic");
  });

  it("predicts a range of rounds, margins and multiclass shapes", () => {
    const { X, n } = data();
    const y3 = Float64Array.from({ length: n }, (_, i) => i % 3);
    const d = DMatrix.create({ rows: n, cols: 3, data: X }, { label: y3 });
    const bst = train({ objective: "multi:softprob", num_class: 3, nthread: 1 }, d, { numBoostRound: 4 }).booster;
    const p = bst.predict(d);
    expect(p.shape).toEqual([n, 3]);
    expect(p.values.length).toBe(n * 3);
    const two = bst.predict(d, { iterationEnd: 2 });
    const again = train({ objective: "multi:softprob", num_class: 3, nthread: 1 }, d, { numBoostRound: 2 }).booster.predict(d);
    expect(Array.from(two.values)).toEqual(Array.from(again.values));
    expect(bst.predict(d, { strictShape: true }).shape).toEqual([n, 3]);
  });

  it("train: evals result per set and metric; early stopping keeps the best round as attributes", () => {
    const { X, y, n } = data(300);
    const tr = DMatrix.create({ rows: 200, cols: 3, data: X.subarray(0, 600) }, { label: y.subarray(0, 200) });
    const va = DMatrix.create({ rows: 100, cols: 3, data: X.subarray(600) }, { label: y.subarray(200) });
    expect(n).toBe(300);
    const res = train({ ...params, eta: 1, max_depth: 6, eval_metric: ["error", "auc"] }, tr, {
      numBoostRound: 100, evals: [[tr, "train"], [va, "valid-set"]], earlyStoppingRounds: 2,
    });
    expect(Object.keys(res.evalsResult)).toEqual(["train", "valid-set"]);
    expect(Object.keys(res.evalsResult["valid-set"])).toEqual(["error", "auc"]);
    const auc = res.evalsResult["valid-set"].auc;
    // auc is maximised: the best is the first round reaching the maximum, then 2 rounds without gain.
    expect(res.bestIteration).toBe(auc.indexOf(Math.max(...auc)));
    expect(auc.length).toBe(res.bestIteration! + 3);
    expect(res.booster.getAttr("best_iteration")).toBe(String(res.bestIteration));
    expect(res.booster.getAttr("best_score")).toBe(pyFloatString(res.bestScore!));
    expect(res.booster.getAttr("best_ntree_limit")).toBe(String(res.bestIteration! + 1));
  });

  it("the collective communicator runs single-process without a tracker", () => {
    expect([communicatorRank(), communicatorWorldSize(), communicatorIsDistributed()]).toEqual([0, 1, false]);
    communicatorInit({});
    expect([communicatorRank(), communicatorWorldSize(), communicatorIsDistributed()]).toEqual([0, 1, false]);
    communicatorFinalize();
  });

  it("formats floats as Python's str() does (for attributes Python would write)", () => {
    const cases: [number, string][] = [
      [1, "1.0"], [0.5, "0.5"], [0.27788461345962, "0.27788461345962"], [1e-5, "1e-05"], [1.5e-7, "1.5e-07"],
      [0.0001, "0.0001"], [1e16, "1e+16"], [123456789012345.6, "123456789012345.6"], [0, "0.0"], [-2, "-2.0"],
    ];
    for (const [x, want] of cases) expect(pyFloatString(x)).toBe(want);
  });

  it("parses XGBoost's evaluation lines (data names may contain '-')", () => {
    expect(parseEvalLine("[3]\ttrain-logloss:0.25\tmy-valid-auc:0.9")).toEqual([
      ["train", "logloss", 0.25],
      ["my-valid", "auc", 0.9],
    ]);
    expect(parseEvalLine("[0]\tv-ndcg@5:1.0")).toEqual([["v", "ndcg@5", 1]]);
  });
});

describe("C API errors surface with XGBoost's message", () => {
  const { X, y, n } = data(20);

  it("a parameter value of the wrong type", () => {
    const d = DMatrix.create({ rows: n, cols: 3, data: X }, { label: y });
    const bst = Booster.create({ nthread: 1 }, [d]);
    bst.setParam("max_depth", "abc");
    expect(() => bst.update(d, 0)).toThrow(new XGBoostError("skein xgboost: Invalid Parameter format for max_depth expect int but value='abc'", ""));
  });

  it("a parameter out of range", () => {
    const d = DMatrix.create({ rows: n, cols: 3, data: X }, { label: y });
    expect(() => train({ eta: -1, nthread: 1 }, d, { numBoostRound: 1 })).toThrow(
      "skein xgboost: value -1 for Parameter learning_rate should be greater equal to 0",
    );
  });

  it("a model that is not a model, with the C++ stack kept aside", () => {
    let err: unknown;
    try {
      Booster.load(new Uint8Array([1, 2, 3]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(XGBoostError);
    expect((err as Error).message).toMatch(/^skein xgboost: \S+learner\.cc:\d+: Check failed: .*BoostLearner: wrong model format$/);
    expect((err as XGBoostError).nativeStack).toMatch(/^Stack trace:/);
  });

  it("shape mismatches are caught before the C call", () => {
    expect(() => DMatrix.create({ rows: 3, cols: 3, data: new Float64Array(8) })).toThrow(
      "skein xgboost: DMatrix data has 8 values, a 3 x 3 matrix needs 9",
    );
    expect(() => DMatrix.create({ rows: n, cols: 3, data: X }, { label: new Float64Array(3) })).toThrow("skein xgboost: label has 3 values for 20 rows");
    expect(() => DMatrix.create({ rows: n, cols: 3, data: X }, { featureNames: ["a"] })).toThrow("skein xgboost: 1 feature names for 3 columns");
  });

  it("a freed handle is refused", () => {
    const d = DMatrix.create({ rows: n, cols: 3, data: X });
    d.free();
    d.free();
    expect(() => d.numRow()).toThrow("skein xgboost: this DMatrix has been freed");
  });
});
