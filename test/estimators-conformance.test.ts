import { describe, expect, it } from "vitest";
import type { Matrix } from "../src/data/matrix.js";
import {
  BaseEstimator,
  registerEstimator,
  type ConstraintTable,
  type EstimatorTags,
  CHECK_NAMES,
  ColumnTransformer,
  MinMaxScaler,
  NearestCentroid,
  OneHotEncoder,
  Pipeline,
  PolynomialFeatures,
  RidgeRegression,
  SimpleImputer,
  StandardScaler,
  checkEstimator,
  type Estimator,
} from "../estimators/index.js";

/** A regressor with partialFit (the running mean of y), to exercise the partialFit checks. */
class RunningMean extends BaseEstimator<{ shift: number }, { sum: number; n: number; nFeatures: number }> {
  static override readonly estimatorName: string = "test.RunningMean";
  readonly tags: EstimatorTags = { regressor: true, partialFit: true };
  defaults() {
    return { shift: 0 };
  }
  constraints(): ConstraintTable {
    return { shift: { type: "number" } };
  }
  protected fitState(X: Matrix, y: Float64Array | undefined) {
    return this.accumulate({ sum: 0, n: 0, nFeatures: X.cols }, y!);
  }
  private accumulate(s: { sum: number; n: number; nFeatures: number }, y: Float64Array) {
    let sum = s.sum;
    for (const v of y) sum += v;
    return { sum, n: s.n + y.length, nFeatures: s.nFeatures };
  }
  async partialFit(X: Matrix, y?: Float64Array): Promise<this> {
    this.state = this.accumulate(this.state ?? { sum: 0, n: 0, nFeatures: X.cols }, y!);
    return this;
  }
  predict(X: Matrix): Float64Array {
    const s = this.fittedState("predict");
    this.checkPredictInput("predict", X, s.nFeatures);
    return new Float64Array(X.rows).fill(s.sum / s.n + this.params.shift);
  }
}
registerEstimator(RunningMean);

const factories: [string, () => Estimator][] = [
  ["StandardScaler", () => new StandardScaler()],
  ["StandardScaler(withMean: false)", () => new StandardScaler({ withMean: false })],
  ["MinMaxScaler", () => new MinMaxScaler({ featureRange: [-1, 1] })],
  ["SimpleImputer", () => new SimpleImputer({ strategy: "median" })],
  ["OneHotEncoder", () => new OneHotEncoder()],
  ["PolynomialFeatures", () => new PolynomialFeatures({ degree: 2 })],
  ["RidgeRegression", () => new RidgeRegression({ alpha: 0.5 })],
  ["NearestCentroid", () => new NearestCentroid()],
  ["Pipeline(scaler, poly, ridge)", () => new Pipeline({ steps: [["scale", new StandardScaler()], ["poly", new PolynomialFeatures()], ["ridge", new RidgeRegression()]] })],
  ["ColumnTransformer", () => new ColumnTransformer({ transformers: [["a", new StandardScaler(), [0, 2]], ["b", new MinMaxScaler(), [1]]] })],
  ["ColumnTransformer(passthrough)", () => new ColumnTransformer({ transformers: [["a", new PolynomialFeatures(), [1]], ["b", "drop", [0]]], remainder: "passthrough" })],
  ["Pipeline(columns, ridge)", () => new Pipeline({ steps: [["cols", new ColumnTransformer({ transformers: [["s", new StandardScaler(), [0, 1]]], remainder: "passthrough" })], ["ridge", new RidgeRegression()]] })],
  ["Pipeline(imputer, centroid)", () => new Pipeline({ steps: [["impute", new SimpleImputer()], ["nc", new NearestCentroid()]] })],
];

for (const [label, factory] of factories) {
  describe(`checkEstimator ${label}`, () => {
    for (const c of checkEstimator(factory)) it(c.name, c.run);
  });
}

describe("checkEstimator itself", () => {
  it("chooses checks by tags", () => {
    const names = (f: () => Estimator) => checkEstimator(f).map((c) => c.name.replace(/^[^:]+: /, ""));
    expect(names(() => new NearestCentroid())).toContain("classifier: classes are the sorted labels and predictions are labels");
    expect(names(() => new NearestCentroid())).not.toContain("regressor: learns a linear signal (score > 0.5 on training data)");
    expect(names(() => new RidgeRegression())).toContain("sampleWeight: unit weights equal no weights, integer weights equal repeated rows");
    expect(names(() => new SimpleImputer())).not.toContain("fit rejects NaN in X");
  });

  it("skips named checks and refuses unknown names", () => {
    const all = checkEstimator(() => new RidgeRegression()).length;
    const fewer = checkEstimator(() => new RidgeRegression(), { skip: [{ check: CHECK_NAMES[0], reason: "test" }] }).length;
    expect(fewer).toBe(all - 1);
    expect(() => checkEstimator(() => new RidgeRegression(), { skip: [{ check: "nope", reason: "x" }] })).toThrow(/no check named "nope"/);
  });

  it("catches a broken estimator: fit that mutates params", async () => {
    class Broken extends RidgeRegression {
      static override readonly estimatorName = "BrokenRidge";
      protected override fitState(...args: Parameters<RidgeRegression["fitState"]>) {
        this.params.alpha = this.params.alpha + 1;
        return super.fitState(...args);
      }
    }
    const check = checkEstimator(() => new Broken()).find((c) => c.name.includes("fit does not change params"))!;
    await expect(check.run()).rejects.toThrow(/checkEstimator BrokenRidge \[fit does not change params or its inputs\]: fit changed params: \{"alpha":1,"fitIntercept":true\} -> \{"alpha":2,"fitIntercept":true\}/);
  });

  it("runs the partialFit check for estimators tagged partialFit", async () => {
    const skipLearn = [{ check: "regressor: learns a linear signal (score > 0.5 on training data)", reason: "a mean predictor" }];
    const checks = checkEstimator(() => new RunningMean(), { skip: skipLearn });
    const pf = checks.find((c) => c.name === "test.RunningMean: partialFit: runs on chunks and leaves a fitted estimator");
    expect(pf).toBeDefined();
    for (const c of checks) await c.run();
  });

  it("catches fitted state that is not plain data", async () => {
    class Leaky extends RidgeRegression {
      static override readonly estimatorName: string = "test.Leaky";
      protected override fitState(...args: Parameters<RidgeRegression["fitState"]>) {
        return { ...super.fitState(...args), predictFn: () => 0 };
      }
    }
    registerEstimator(Leaky);
    const check = checkEstimator(() => new Leaky()).find((c) => c.name.includes("toJSON -> fromJSON"))!;
    await expect(check.run()).rejects.toThrow(/could not be cloned/);
  });

  it("the factory must make a new estimator per call", () => {
    const one = new RidgeRegression();
    expect(() => checkEstimator(() => one)).toThrow("skein estimators: checkEstimator: the factory must return a new estimator per call");
  });
});
