/**
 * toOnnx: every supported model and pipeline exported, run in onnxruntime (the public API,
 * InferenceSession.create on the bytes), and compared with skein's own predictions to 1e-9.
 */
import * as ort from "onnxruntime-node";
import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import type { Matrix } from "../src/data/matrix.js";
import type { Estimator } from "../estimators/base.js";
import { LinearRegression, LogisticRegression, PoissonRegression } from "../estimators/glm.js";
import { NearestCentroid, RidgeRegression } from "../estimators/models.js";
import { ParallelPostFit } from "../estimators/parallel.js";
import { Pipeline, makePipeline } from "../estimators/pipeline.js";
import { MinMaxScaler, PolynomialFeatures, StandardScaler } from "../estimators/preprocessing.js";
import { toOnnx } from "../estimators/onnx/index.js";
import { maxRelDiff, onnxData } from "./fixtures/onnx-data.js";

const { onnx } = onnxProto;
const { X, yBinary, y3, yCount, yReal } = onnxData(300, 4);

async function runOnnx(bytes: Uint8Array, M: Matrix): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    return await session.run({ X: new ort.Tensor("float64", M.data, [M.rows, M.cols]) });
  } finally {
    await session.release();
  }
}

type Kind = "classifier" | "regressor" | "transformer";

async function expectSame(est: Estimator, kind: Kind, M: Matrix = X): Promise<void> {
  const out = await runOnnx(toOnnx(est), M);
  if (kind === "classifier") {
    expect(out.label.type).toBe("float64");
    expect(out.label.dims).toEqual([M.rows]);
    expect(Array.from(out.label.data as Float64Array)).toEqual(Array.from(est.predict!(M)));
    const p = est.predictProba!(M);
    expect(out.probabilities.dims).toEqual([M.rows, p.cols]);
    expect(maxRelDiff(p.data, out.probabilities.data as Float64Array)).toBeLessThanOrEqual(1e-9);
  } else if (kind === "regressor") {
    expect(out.variable.dims).toEqual([M.rows, 1]);
    expect(maxRelDiff(est.predict!(M), out.variable.data as Float64Array)).toBeLessThanOrEqual(1e-9);
  } else {
    const t = est.transform!(M);
    expect(out.variable.dims).toEqual([M.rows, t.cols]);
    expect(maxRelDiff(t.data, out.variable.data as Float64Array)).toBeLessThanOrEqual(1e-9);
  }
}

describe("toOnnx: GLMs", () => {
  it("binary LogisticRegression", async () => {
    await expectSame(await new LogisticRegression({ C: 10 }).fit(X, yBinary), "classifier");
  });
  it("binary LogisticRegression with labels 3 / 7, no intercept, l1", async () => {
    const y = yBinary.map((v) => (v ? 7 : 3));
    await expectSame(await new LogisticRegression({ fitIntercept: false }).fit(X, y), "classifier");
    await expectSame(await new LogisticRegression({ penalty: "l1", C: 0.5, solver: "admm" }).fit(X, y), "classifier");
  });
  it("multinomial LogisticRegression", async () => {
    await expectSame(await new LogisticRegression({ C: 5 }).fit(X, y3), "classifier");
  });
  it("one-vs-rest LogisticRegression", async () => {
    await expectSame(await new LogisticRegression({ multiClass: "ovr" }).fit(X, y3), "classifier");
  });
  it("LinearRegression: none and ridge", async () => {
    await expectSame(await new LinearRegression().fit(X, yReal), "regressor");
    await expectSame(await new LinearRegression({ penalty: "l2", alpha: 3 }).fit(X, yReal), "regressor");
  });
  it("RidgeRegression (estimators/models.ts)", async () => {
    await expectSame(await new RidgeRegression({ alpha: 2 }).fit(X, yReal), "regressor");
  });
  it("a ParallelPostFit exports the model it wraps", async () => {
    const lr = await new LogisticRegression().fit(X, y3);
    expect(toOnnx(new ParallelPostFit(lr))).toEqual(toOnnx(lr));
    await expectSame(await new ParallelPostFit(makePipeline(new StandardScaler(), new LinearRegression())).fit(X, yReal), "regressor");
  });
  it("PoissonRegression", async () => {
    await expectSame(await new PoissonRegression({ alpha: 0.01 }).fit(X, yCount), "regressor");
  });
});

describe("toOnnx: scalers and pipelines", () => {
  it("StandardScaler (with and without mean)", async () => {
    await expectSame(await new StandardScaler().fit(X), "transformer");
    await expectSame(await new StandardScaler({ withMean: false }).fit(X), "transformer");
  });
  it("MinMaxScaler, with clip on data outside the fitted range", async () => {
    await expectSame(await new MinMaxScaler({ featureRange: [-1, 2] }).fit(X), "transformer");
    const clip = await new MinMaxScaler({ clip: true }).fit(X);
    const wide = { rows: X.rows, cols: X.cols, data: X.data.map((v, i) => v * (1 + (i % 3))) };
    await expectSame(clip, "transformer", wide);
    const out = await runOnnx(toOnnx(clip), wide);
    const v = out.variable.data as Float64Array;
    expect(Math.min(...v)).toBe(0);
    expect(Math.max(...v)).toBe(1);
  });
  it("Pipeline: scaler + logistic regression (binary and multinomial)", async () => {
    await expectSame(await makePipeline(new StandardScaler(), new LogisticRegression()).fit(X, yBinary), "classifier");
    await expectSame(await makePipeline(new MinMaxScaler(), new LogisticRegression({ C: 100 })).fit(X, y3), "classifier");
  });
  it("Pipeline: two scalers + Poisson, nested pipelines, scalers only", async () => {
    await expectSame(await makePipeline(new MinMaxScaler(), new StandardScaler(), new PoissonRegression({ alpha: 0.1 })).fit(X, yCount), "regressor");
    const inner = makePipeline(new StandardScaler(), new MinMaxScaler({ featureRange: [1, 3] }));
    await expectSame(await new Pipeline({ steps: [["pre", inner], ["lin", new LinearRegression()]] }).fit(X, yReal), "regressor");
    await expectSame(await makePipeline(new StandardScaler(), new MinMaxScaler()).fit(X), "transformer");
  });
  it("the model declares opset 13, float64 input X [N, p] and the class labels", async () => {
    const model = onnx.ModelProto.decode(toOnnx(await new LogisticRegression().fit(X, y3.map((v) => v * 10))));
    expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([["", 13]]);
    expect(model.producerName).toBe("skein");
    const input = model.graph?.input?.[0];
    expect(input?.name).toBe("X");
    const tensor = input?.type?.tensorType;
    expect(tensor?.elemType).toBe(onnx.TensorProto.DataType.DOUBLE);
    expect(tensor?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue))).toEqual(["N", 4]);
    expect(model.graph?.output?.map((o) => o.name)).toEqual(["label", "probabilities"]);
    const meta = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
    expect(meta).toEqual({ "skein.estimator": "LogisticRegression", "skein.classes": "[0,10,20]" });
  });
});

describe("toOnnx: errors", () => {
  it("names the class it cannot export, and the pipeline step", async () => {
    const nc = await new NearestCentroid().fit(X, yBinary);
    expect(() => toOnnx(nc)).toThrow(
      'skein estimators: toOnnx cannot export NearestCentroid; supported: LogisticRegression, LinearRegression, PoissonRegression, RidgeRegression, StandardScaler, MinMaxScaler, Pipeline',
    );
    const pipe = await new Pipeline({ steps: [["scale", new StandardScaler()], ["poly", new PolynomialFeatures()], ["lr", new LogisticRegression()]] }).fit(X, yBinary);
    expect(() => toOnnx(pipe)).toThrow('skein estimators: toOnnx cannot export PolynomialFeatures (Pipeline step "poly"); supported:');
  });
  it("refuses an unfitted estimator", () => {
    expect(() => toOnnx(new LogisticRegression())).toThrow("skein estimators: toOnnx: LogisticRegression is not fitted yet: call fit before exporting");
    expect(() => toOnnx(makePipeline(new StandardScaler()))).toThrow("skein estimators: toOnnx: Pipeline is not fitted yet");
  });
});
