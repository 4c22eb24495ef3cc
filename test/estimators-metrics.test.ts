/**
 * Metrics, splitters, transformers and RidgeRegression against scikit-learn. Expected values were
 * computed once with /usr/bin/python3 and scikit-learn 1.2.1 on the same arrays (sklearn.metrics
 * functions, KFold / StratifiedKFold / GroupKFold(...).split, SimpleImputer.statistics_,
 * StandardScaler / MinMaxScaler((-1, 1)) / PolynomialFeatures / OneHotEncoder fit_transform,
 * Ridge(alpha=0.7).fit with and without sample_weight, ColumnTransformer([("num", StandardScaler(),
 * [0, 3]), ("cat", OneHotEncoder(sparse_output=False), [1])], remainder="passthrough").fit_transform)
 * and pasted here.
 */
import { describe, expect, it } from "vitest";
import {
  ColumnTransformer,
  GroupKFold,
  KFold,
  MinMaxScaler,
  OneHotEncoder,
  PolynomialFeatures,
  RidgeRegression,
  ShuffleSplit,
  SimpleImputer,
  StandardScaler,
  StratifiedKFold,
  accuracyScore,
  balancedAccuracyScore,
  f1Score,
  getScorer,
  logLoss,
  meanAbsoluteError,
  meanSquaredError,
  precisionScore,
  r2Score,
  recallScore,
  rocAucScore,
  trainTestSplit,
} from "../estimators/index.js";
import type { Matrix } from "../src/data/matrix.js";

const f = (xs: number[]) => Float64Array.from(xs);
const m = (rows: number[][]): Matrix => ({ rows: rows.length, cols: rows[0].length, data: f(rows.flat()) });
const close = (a: ArrayLike<number>, b: number[], tol = 1e-12) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < b.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i])));
};

const yt = f([0, 1, 1, 0, 1, 1, 0, 0, 1, 0]);
const yp = f([0, 1, 0, 0, 1, 1, 1, 0, 1, 1]);
const sc = f([0.1, 0.8, 0.4, 0.35, 0.9, 0.7, 0.6, 0.2, 0.75, 0.5]);

describe("metrics vs scikit-learn", () => {
  it("binary classification metrics", () => {
    expect(accuracyScore(yt, yp)).toBeCloseTo(0.7, 14);
    expect(balancedAccuracyScore(yt, yp)).toBeCloseTo(0.7, 14);
    expect(f1Score(yt, yp)).toBeCloseTo(0.7272727272727272, 14);
    expect(precisionScore(yt, yp)).toBeCloseTo(0.6666666666666666, 14);
    expect(recallScore(yt, yp)).toBeCloseTo(0.8, 14);
    expect(rocAucScore(yt, sc)).toBeCloseTo(0.92, 14);
    expect(rocAucScore(yt, f([0.1, 0.8, 0.4, 0.4, 0.9, 0.7, 0.4, 0.2, 0.8, 0.5]))).toBeCloseTo(0.92, 14);
    const proba: Matrix = { rows: 10, cols: 2, data: new Float64Array(20) };
    sc.forEach((s, i) => ((proba.data[2 * i] = 1 - s), (proba.data[2 * i + 1] = s)));
    expect(logLoss(yt, proba)).toBeCloseTo(0.4257876710735295, 13);
  });

  it("multiclass averages", () => {
    const t = f([0, 1, 2, 2, 1, 0, 2, 1, 0, 2]);
    const p = f([0, 2, 2, 2, 1, 0, 1, 1, 1, 2]);
    close([f1Score(t, p, { average: "macro" }), precisionScore(t, p, { average: "macro" }), recallScore(t, p, { average: "macro" })], [0.7071428571428572, 0.75, 0.6944444444444443]);
    close([f1Score(t, p, { average: "micro" }), precisionScore(t, p, { average: "micro" }), recallScore(t, p, { average: "micro" })], [0.7, 0.7, 0.7]);
    close([f1Score(t, p, { average: "weighted" }), precisionScore(t, p, { average: "weighted" }), recallScore(t, p, { average: "weighted" })], [0.7114285714285715, 0.75, 0.7]);
    expect(balancedAccuracyScore(t, p)).toBeCloseTo(0.6944444444444443, 14);
    expect(() => f1Score(t, p)).toThrow('skein estimators: f1Score: average "binary" needs two classes including posLabel 1, got labels 0, 1, 2; pass average "macro", "micro" or "weighted"');
  });

  it("regression metrics", () => {
    const t = f([3.0, -0.5, 2.0, 7.0, 4.2]);
    const p = f([2.5, 0.0, 2.1, 7.8, 3.9]);
    expect(r2Score(t, p)).toBeCloseTo(0.9594665271966527, 14);
    expect(meanSquaredError(t, p)).toBeCloseTo(0.248, 14);
    expect(meanAbsoluteError(t, p)).toBeCloseTo(0.44, 14);
  });

  it("scorers are named, greater is better, and unknown names list the known ones", async () => {
    const X = m([[1, 0.5], [2, -1], [3, 0], [4, 2], [5, 1]]);
    const y = f([1, 2, 2.5, 5, 5.5]);
    const est = await new RidgeRegression({ alpha: 0.7 }).fit(X, y);
    const pred = est.predict(X);
    expect(getScorer("neg_mean_squared_error")(est, X, y)).toBe(-meanSquaredError(y, pred));
    expect(getScorer("r2")(est, X, y)).toBe(est.score(X, y));
    expect(() => getScorer("r3")).toThrow(/^skein estimators: unknown scorer "r3"; known scorers: accuracy, balanced_accuracy, f1, /);
  });
});

describe("splitters", () => {
  it("KFold and StratifiedKFold give scikit-learn's folds", () => {
    expect(new KFold({ nSplits: 4 }).split(10).map((s) => Array.from(s.test))).toEqual([[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]]);
    const y = f([0, 0, 1, 1, 1, 0, 1, 2, 2, 2, 0, 1, 2, 1]);
    const folds = new StratifiedKFold({ nSplits: 3 }).split(14, y);
    expect(folds.map((s) => Array.from(s.test))).toEqual([[0, 1, 2, 3, 7], [4, 5, 6, 8, 9], [10, 11, 12, 13]]);
    for (const s of folds) expect(s.train.length + s.test.length).toBe(14);
  });

  it("GroupKFold gives scikit-learn's folds and never splits a group", () => {
    const g = f([1, 1, 2, 2, 2, 3, 4, 4, 4, 4, 5, 6]);
    const folds = new GroupKFold({ nSplits: 3 }).split(12, undefined, g);
    expect(folds.map((s) => Array.from(s.test))).toEqual([[6, 7, 8, 9], [2, 3, 4, 10], [0, 1, 5, 11]]);
  });

  it("shuffling is seeded: same seed, same folds; test sets of KFold partition the rows", () => {
    const a = new KFold({ nSplits: 3, shuffle: true, seed: 5 }).split(20);
    const b = new KFold({ nSplits: 3, shuffle: true, seed: 5 }).split(20);
    expect(a).toEqual(b);
    expect(a.flatMap((s) => Array.from(s.test)).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const ss = new ShuffleSplit({ nSplits: 4, testSize: 0.25, seed: 1 }).split(20);
    expect(ss.map((s) => [s.train.length, s.test.length])).toEqual([[15, 5], [15, 5], [15, 5], [15, 5]]);
    expect(new ShuffleSplit({ nSplits: 4, testSize: 0.25, seed: 1 }).split(20)).toEqual(ss);
  });

  it("trainTestSplit is seeded, disjoint, and stratifies", () => {
    const X = m(Array.from({ length: 20 }, (_, i) => [i, -i]));
    const y = Float64Array.from({ length: 20 }, (_, i) => (i < 15 ? 0 : 1));
    const a = trainTestSplit(X, y, { testSize: 0.2, seed: 3 });
    expect(a.XTest.rows).toBe(4);
    expect(a.XTrain.rows).toBe(16);
    expect(trainTestSplit(X, y, { testSize: 0.2, seed: 3 }).testIndex).toEqual(a.testIndex);
    expect(new Set([...a.trainIndex, ...a.testIndex]).size).toBe(20);
    for (let i = 0; i < 4; i++) expect(a.XTest.data[2 * i]).toBe(a.testIndex[i]);
    const s = trainTestSplit(X, y, { testSize: 0.4, seed: 1, stratify: y });
    expect(Array.from(s.yTest!).filter((v) => v === 1).length).toBe(2);
    expect(Array.from(s.yTest!).filter((v) => v === 0).length).toBe(6);
  });

  it("errors name the problem", () => {
    expect(() => new KFold({ nSplits: 5 }).split(3)).toThrow("skein estimators: KFold: nSplits=5 is greater than the number of samples 3");
    expect(() => new GroupKFold({ nSplits: 3 }).split(4, undefined, f([1, 1, 2, 2]))).toThrow("skein estimators: GroupKFold: nSplits=3 is greater than the number of groups 2");
  });
});

describe("transformers and Ridge vs scikit-learn", () => {
  const Z = m([[1, 2], [3, -1], [0.5, 4], [2, 2]]);

  it("SimpleImputer statistics", async () => {
    const X = m([[1, 2, NaN], [3, NaN, 1], [NaN, 6, 1], [7, 8, 4], [3, 1, 4]]);
    const stats = async (strategy: "mean" | "median" | "most_frequent") => {
      const t = (await new SimpleImputer({ strategy }).fit(X)).transform(m([[NaN, NaN, NaN]]));
      return Array.from(t.data);
    };
    expect(await stats("mean")).toEqual([3.5, 4.25, 2.5]);
    expect(await stats("median")).toEqual([3, 4, 2.5]);
    expect(await stats("most_frequent")).toEqual([3, 1, 1]);
  });

  it("StandardScaler, MinMaxScaler, PolynomialFeatures, OneHotEncoder", async () => {
    close((await new StandardScaler().fit(Z)).transform(Z).data, [-0.6509445549041194, 0.14002800840280097, 1.4320780207890627, -1.5403080924308108, -1.171700198827415, 1.2602520756252087, 0.39056673294247163, 0.14002800840280097]);
    close((await new MinMaxScaler({ featureRange: [-1, 1] }).fit(Z)).transform(Z).data, [-0.6, 0.2, 1, -1, -1, 1, 0.2, 0.2], 1e-14);
    const two = m([[1, 2], [3, -1]]);
    expect(Array.from((await new PolynomialFeatures({ degree: 3 }).fit(two)).transform(two).data)).toEqual([1, 1, 2, 1, 2, 4, 1, 2, 4, 8, 1, 3, -1, 9, -3, 1, 27, -9, 3, -1]);
    const three = m([[1, 2, 3]]);
    expect(Array.from((await new PolynomialFeatures({ degree: 2, interactionOnly: true, includeBias: false }).fit(three)).transform(three).data)).toEqual([1, 2, 3, 2, 3, 6]);
    const C = m([[1, 5], [2, 5], [1, 7]]);
    const ohe = await new OneHotEncoder().fit(C);
    expect(Array.from(ohe.transform(C).data)).toEqual([1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1]);
    expect(() => ohe.transform(m([[3, 5]]))).toThrow('skein estimators: OneHotEncoder.transform: unknown category 3 in column 0 (row 0); pass handleUnknown: "ignore" to encode it as all zeros');
    expect(Array.from((await new OneHotEncoder({ handleUnknown: "ignore" }).fit(C)).transform(m([[3, 5]])).data)).toEqual([0, 0, 1, 0]);
  });

  it("ColumnTransformer places each transformer's output side by side, then the remainder", async () => {
    const X = m([[1, 0, 5, 2], [3, 1, 7, -1], [2, 0, 6, 4], [0, 2, 5, 0]]);
    const ct = new ColumnTransformer({ transformers: [["num", new StandardScaler(), [0, 3]], ["cat", new OneHotEncoder(), [1]]], remainder: "passthrough" });
    close((await ct.fit(X)).transform(X).data, [-0.4472135954999579, 0.39056673294247163, 1.0, 0.0, 0.0, 5.0, 1.3416407864998738, -1.171700198827415, 0.0, 1.0, 0.0, 7.0, 0.4472135954999579, 1.4320780207890627, 1.0, 0.0, 0.0, 6.0, -1.3416407864998738, -0.6509445549041194, 0.0, 0.0, 1.0, 5.0]);
    expect(ct.getParams().num__withMean).toBe(true);
    ct.setParams({ num__withMean: false });
    expect((ct.getParams().num as StandardScaler).getParams().withMean).toBe(false);
    const named = { ...X, columns: ["a", "b", "c", "d"] };
    const byName = await new ColumnTransformer({ transformers: [["s", new StandardScaler(), ["d"]]] }).fit(named);
    expect(byName.transform(named).cols).toBe(1);
    await expect(new ColumnTransformer({ transformers: [["s", new StandardScaler(), [9]]] }).fit(X)).rejects.toThrow('skein estimators: ColumnTransformer: "s" selects column 9, X has 4 columns');
  });

  it("RidgeRegression matches sklearn's Ridge, with and without sample weights", async () => {
    const X = m([[1, 0.5], [2, -1], [3, 0], [4, 2], [5, 1]]);
    const y = f([1, 2, 2.5, 5, 5.5]);
    const r = await new RidgeRegression({ alpha: 0.7 }).fit(X, y);
    close(r.coef, [0.9868859746610362, 0.3600800177817289], 1e-12);
    expect(r.intercept).toBeCloseTo(0.05930206712602715, 12);
    const w = await new RidgeRegression({ alpha: 0.7 }).fit(X, y, { sampleWeight: f([1, 2, 1, 0.5, 3]) });
    close(w.coef, [1.025646411392804, 0.25520384801193], 1e-12);
    expect(w.intercept).toBeCloseTo(0.029444012686675958, 12);
  });

  it("params are validated in fit, naming the parameter and the allowed values", async () => {
    const X = m([[1], [2]]);
    await expect(new SimpleImputer({ strategy: "avg" as "mean" }).fit(X)).rejects.toThrow('skein estimators: SimpleImputer: parameter "strategy" must be one of "mean", "median", "most_frequent", "constant", got "avg"');
    await expect(new RidgeRegression({ alpha: -1 }).fit(X, f([1, 2]))).rejects.toThrow('skein estimators: RidgeRegression: parameter "alpha" must be a number >= 0, got -1');
    await expect(new RidgeRegression({ alpah: 1 } as never).fit(X, f([1, 2]))).rejects.toThrow('skein estimators: RidgeRegression: unknown parameter "alpah"; valid parameters: alpha, fitIntercept');
    expect(() => new RidgeRegression().predict(X)).toThrow("skein estimators: RidgeRegression is not fitted yet: call fit before predict()");
  });
});
