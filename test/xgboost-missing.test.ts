/**
 * Without libxgboost: importing skein and its XGBoost module still works, and using XGBoost fails
 * with an error naming the Debian package. Simulated by pointing the loader at a path that does
 * not exist (SKEIN_XGBOOST_LIB), before anything loads the library in this test file's process.
 */
import { afterAll, describe, expect, it } from "vitest";

const saved = process.env.SKEIN_XGBOOST_LIB;
process.env.SKEIN_XGBOOST_LIB = "/nonexistent/libxgboost.so.0";
afterAll(() => {
  if (saved === undefined) delete process.env.SKEIN_XGBOOST_LIB;
  else process.env.SKEIN_XGBOOST_LIB = saved;
});

const NOT_INSTALLED = /^skein xgboost: libxgboost is not installed \(apt-get install libxgboost0\); could not load \/nonexistent\/libxgboost\.so\.0: /;

describe("libxgboost missing", () => {
  it("importing the XGBoost module, skein and skein/estimators does not throw", async () => {
    const xgbMod = await import("../estimators/xgboost/index.js");
    await import("../src/index.js");
    await import("../estimators/index.js");
    expect(xgbMod.xgboostAvailable()).toBe(false);
    expect(xgbMod.xgboostLibraryCandidates()).toEqual(["/nonexistent/libxgboost.so.0"]);
  });

  it("using it fails with an error naming the package, every time", async () => {
    const { DMatrix, XGBClassifier, XGBoostNotInstalledError, xgboostVersion } = await import("../estimators/xgboost/index.js");
    const X = { rows: 2, cols: 1, data: new Float64Array([0, 1]) };
    expect(() => DMatrix.create(X)).toThrow(XGBoostNotInstalledError);
    expect(() => DMatrix.create(X)).toThrow(NOT_INSTALLED);
    expect(() => xgboostVersion()).toThrow(NOT_INSTALLED);
    await expect(new XGBClassifier().fit(X, new Float64Array([0, 1]))).rejects.toThrow(NOT_INSTALLED);
    // Params and the contract work without the library: only fitting needs it.
    expect(new XGBClassifier({ max_depth: 2 }).clone().getParams()).toMatchObject({ maxDepth: 2 });
  });

  it("the rest of skein still computes", async () => {
    const { RidgeRegression } = await import("../estimators/index.js");
    const X = { rows: 3, cols: 1, data: new Float64Array([0, 1, 2]) };
    const est = await new RidgeRegression({ alpha: 0 }).fit(X, new Float64Array([1, 3, 5]));
    expect(Array.from(est.predict(X)).map((v) => Math.round(v * 1e9) / 1e9)).toEqual([1, 3, 5]);
  });

  it("pointing the loader back at the real library works without a restart", async () => {
    const { xgboostAvailable, xgboostVersion } = await import("../estimators/xgboost/index.js");
    process.env.SKEIN_XGBOOST_LIB = "libxgboost.so.0";
    expect(xgboostAvailable()).toBe(true);
    expect(xgboostVersion()).toEqual([1, 7, 4]);
  });
});
