import { describe, expect, it } from "vitest";
import {
  CHECK_NAMES,
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

  it("the factory must make a new estimator per call", () => {
    const one = new RidgeRegression();
    expect(() => checkEstimator(() => one)).toThrow("skein estimators: checkEstimator: the factory must return a new estimator per call");
  });
});
