/**
 * OnnxModel in this process: predictions of an exported skein model through the estimator, the
 * conformance suite, session reuse, float32 models, and the errors for a bad path, a corrupt
 * file, a replaced file and a wrong input width.
 */
import { writeFileSync } from "node:fs";
import onnxProto from "onnx-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromJSON, loadEstimator, saveEstimator } from "../estimators/base.js";
import { checkEstimator } from "../estimators/checks.js";
import { LinearRegression, LogisticRegression } from "../estimators/glm.js";
import { makePipeline } from "../estimators/pipeline.js";
import { StandardScaler } from "../estimators/preprocessing.js";
import { OnnxModel, onnxSessionStats, resetOnnxSessions, toOnnx } from "../estimators/onnx/index.js";
import { maxRelDiff, onnxData, tempDir } from "./fixtures/onnx-data.js";

const { onnx } = onnxProto;
const tmp = tempDir();
const { X, yBinary, y3, yReal } = onnxData(200, 3);
const paths = { clf: tmp.file("clf.onnx"), multi: tmp.file("multi.onnx"), reg: tmp.file("reg.onnx"), scaler: tmp.file("scaler.onnx"), f32: tmp.file("f32.onnx") };
let clf: Awaited<ReturnType<typeof fitPipe>>;

function fitPipe() {
  return makePipeline(new StandardScaler(), new LogisticRegression()).fit(X, yBinary.map((v) => (v ? 7 : 3)));
}

/** A float32 model: y = 2 * x, input "input" [N, 2], output "doubled". */
function float32Model(): Uint8Array {
  const F = onnx.TensorProto.DataType.FLOAT;
  const vi = (name: string) => ({ name, type: { tensorType: { elemType: F, shape: { dim: [{ dimParam: "batch" }, { dimValue: 2 }] } } } });
  const two = { name: "two", dataType: F, dims: [], floatData: [2] };
  const graph = { name: "g", node: [{ opType: "Mul", input: ["input", "two"], output: ["doubled"] }], initializer: [two], input: [vi("input")], output: [vi("doubled")] };
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 7, opsetImport: [{ domain: "", version: 13 }], graph })).finish();
}

beforeAll(async () => {
  clf = await fitPipe();
  writeFileSync(paths.clf, toOnnx(clf));
  writeFileSync(paths.multi, toOnnx(await new LogisticRegression().fit(X, y3)));
  writeFileSync(paths.reg, toOnnx(await new LinearRegression().fit(X, yReal)));
  writeFileSync(paths.scaler, toOnnx(await new StandardScaler().fit(X)));
  writeFileSync(paths.f32, float32Model());
});

afterAll(() => tmp.remove());

describe("OnnxModel: predictions", () => {
  it("reads names, shapes and classes from the model and predicts as skein does", async () => {
    const m = await OnnxModel.load(paths.clf);
    expect(m.inputs).toEqual([{ name: "X", isTensor: true, type: "float64", shape: ["N", 3] }]);
    expect(m.outputs).toEqual([
      { name: "label", isTensor: true, type: "float64", shape: ["N"] },
      { name: "probabilities", isTensor: true, type: "float64", shape: ["N", 2] },
    ]);
    expect(m.tags).toEqual({ allowNaN: true, classifier: true });
    expect(Array.from(m.classes())).toEqual([3, 7]);
    expect(Array.from(m.predict(X))).toEqual(Array.from(clf.predict(X)));
    const p = m.predictProba(X);
    expect([p.rows, p.cols]).toEqual([200, 2]);
    expect(maxRelDiff(clf.predictProba(X).data, p.data)).toBeLessThanOrEqual(1e-9);
    expect(m.score(X, yBinary.map((v) => (v ? 7 : 3)))).toBe(clf.score(X, yBinary.map((v) => (v ? 7 : 3))));
  });

  it("regressor and transformer models; kind auto picks the tags", async () => {
    const reg = await OnnxModel.load(paths.reg);
    expect(reg.tags).toEqual({ allowNaN: true, regressor: true });
    expect(maxRelDiff((await new LinearRegression().fit(X, yReal)).predict(X), reg.predict(X))).toBeLessThanOrEqual(1e-9);
    const sc = await OnnxModel.load(paths.scaler);
    expect(sc.tags).toEqual({ allowNaN: true, transformer: true });
    const t = sc.transform(X);
    expect([t.rows, t.cols]).toEqual([200, 3]);
    expect(maxRelDiff((await new StandardScaler().fit(X)).transform(X).data, t.data)).toBeLessThanOrEqual(1e-9);
    expect(() => sc.predict(X)).toThrow('skein estimators: OnnxModel.predict: output "variable" has shape [200, 3], not one value per row; use transform() or set outputName');
    expect(() => sc.predictProba(X)).toThrow('OnnxModel.predictProba: model "' + paths.scaler + '" has no "probabilities" output');
  });

  it("float32 models: X is converted; names chosen by param", async () => {
    const m = await OnnxModel.load(paths.f32, { inputName: "input", outputName: "doubled", kind: "transformer" });
    const t = m.transform({ rows: 2, cols: 2, data: Float64Array.of(1, 2.5, -3, 0.1) });
    expect(Array.from(t.data)).toEqual([2, 5, -6, Math.fround(0.1) * 2]);
    await expect(OnnxModel.load(paths.f32, { outputName: "nope" })).rejects.toThrow(
      `skein estimators: OnnxModel: model "${paths.f32}" has no output "nope" (outputName); outputs: doubled (float32 [batch, 2])`,
    );
  });

  it("works as a Pipeline step: fit loads it, predict runs it after the skein steps", async () => {
    const scaler = await new StandardScaler().fit(X);
    const lr = await new LogisticRegression({ C: 3 }).fit(scaler.transform(X), y3);
    const path = tmp.file("after-scaler.onnx");
    writeFileSync(path, toOnnx(lr));
    const pipe = await makePipeline(new StandardScaler(), new OnnxModel({ path })).fit(X, y3);
    expect(Array.from(pipe.predict(X))).toEqual(Array.from(lr.predict(scaler.transform(X))));
    expect(maxRelDiff(lr.predictProba(scaler.transform(X)).data, pipe.predictProba(X).data)).toBeLessThanOrEqual(1e-9);
    expect(Array.from(pipe.classes())).toEqual([0, 1, 2]);
  });

  it("empty input gives empty outputs", async () => {
    const m = await OnnxModel.load(paths.multi);
    const empty = { rows: 0, cols: 3, data: new Float64Array(0) };
    expect(m.predict(empty).length).toBe(0);
    const p = m.predictProba(empty);
    expect([p.rows, p.cols, p.data.length]).toEqual([0, 3, 0]);
  });

  it("one session per model per thread, reused by every call and by rebuilt copies", async () => {
    resetOnnxSessions();
    const m = await OnnxModel.load(paths.multi);
    for (let i = 0; i < 5; i++) m.predictProba(X);
    const copy = fromJSON(structuredClone(m.toJSON())) as OnnxModel;
    copy.predict(X);
    expect(onnxSessionStats()).toMatchObject({ pid: process.pid, created: 1, reused: 5, runs: 6, cached: 1 });
    const viaText = loadEstimator(saveEstimator(m)) as OnnxModel;
    expect(Array.from(viaText.predict(X))).toEqual(Array.from(m.predict(X)));
    expect(onnxSessionStats().created).toBe(1);
  });
  it("keeps at most 8 sessions per thread, dropping the least recently used", async () => {
    resetOnnxSessions();
    const models: OnnxModel[] = [];
    for (let k = 0; k < 9; k++) {
      const path = tmp.file(`scaler-${k}.onnx`);
      writeFileSync(path, toOnnx(await new StandardScaler().fit({ rows: 3, cols: 1, data: Float64Array.of(0, k + 1, 5) })));
      models.push(await OnnxModel.load(path));
    }
    const one = { rows: 1, cols: 1, data: Float64Array.of(1) };
    for (const m of models) m.transform(one);
    expect(onnxSessionStats()).toMatchObject({ created: 9, reused: 0, cached: 8 });
    models[8].transform(one); // most recent: still cached
    models[0].transform(one); // the oldest was dropped: opened again
    expect(onnxSessionStats()).toMatchObject({ created: 10, reused: 1, cached: 8 });
  });
});

describe("OnnxModel: errors", () => {
  it("a missing path, a directory and an empty path", async () => {
    const missing = tmp.file("nope.onnx");
    await expect(OnnxModel.load(missing)).rejects.toThrow(`skein onnx: cannot read model file "${missing}": no such file`);
    await expect(OnnxModel.load(tmp.dir)).rejects.toThrow(`skein onnx: cannot read model file "${tmp.dir}": it is a directory`);
    await expect(new OnnxModel().fit()).rejects.toThrow('skein estimators: OnnxModel: parameter "path" is required (the .onnx file to run)');
  });

  it("a corrupt file", async () => {
    const bad = tmp.file("corrupt.onnx");
    writeFileSync(bad, Buffer.from("this is not a protobuf model"));
    await expect(OnnxModel.load(bad)).rejects.toThrow(`skein onnx: "${bad}" is not a model onnxruntime can load: `);
  });

  it("the wrong input width, before and inside onnxruntime", async () => {
    const m = await OnnxModel.load(paths.clf);
    const wide = { rows: 2, cols: 4, data: new Float64Array(8) };
    expect(() => m.predict(wide)).toThrow('skein estimators: OnnxModel.predict: X has 4 columns, the model\'s input "X" takes 3');
    await expect(new OnnxModel({ path: paths.clf }).fit(wide)).rejects.toThrow("OnnxModel.fit: X has 4 columns");
    expect(() => m.transform({ rows: 2, cols: 3, data: new Float64Array(5) })).toThrow("OnnxModel.transform: X must be a Matrix");
  });

  it("a file replaced after loading is not run", async () => {
    const path = tmp.file("replaced.onnx");
    writeFileSync(path, toOnnx(await new LinearRegression().fit(X, yReal)));
    const m = await OnnxModel.load(path);
    writeFileSync(path, toOnnx(await new LinearRegression({ fitIntercept: false }).fit(X, yReal)));
    resetOnnxSessions();
    expect(() => m.predict(X)).toThrow(new RegExp(`^skein onnx: model file "${path}" changed since the OnnxModel was loaded \\(sha256 [0-9a-f]{12}, expected [0-9a-f]{12}\\): call fit\\(\\) again$`));
    await m.fit();
    expect(m.predict(X).length).toBe(200);
  });

  it("predict before loading says what to do", () => {
    expect(() => new OnnxModel({ path: paths.clf }).predict(X)).toThrow(
      "skein estimators: OnnxModel is not fitted yet: call fit() (it loads the .onnx file; no training) or OnnxModel.load(path) before predict()",
    );
  });

  it("a model with an unknown input name", async () => {
    await expect(OnnxModel.load(paths.clf, { inputName: "features" })).rejects.toThrow(
      `skein estimators: OnnxModel: model "${paths.clf}" has no input "features"; inputs: X (float64 [N, 3])`,
    );
  });
});

describe("OnnxModel: conformance", () => {
  const noLearning = "a pre-fitted model does not learn from y: fit only loads the file";
  // checkEstimator compares predict() whenever the method exists; OnnxModel has it for every kind,
  // and on a multi-column transformer model it rightly refuses (one value per row is its contract).
  const predictRefused = "a transformer model's predict() refuses a multi-column output; checkEstimator calls predict() when the method exists";
  const cases = [
    { name: "classifier", factory: () => new OnnxModel({ path: paths.clf, kind: "classifier" }), skip: [{ check: "classifier: classes are the sorted labels and predictions are labels", reason: noLearning }] },
    { name: "regressor", factory: () => new OnnxModel({ path: paths.reg, kind: "regressor" }), skip: [{ check: "regressor: learns a linear signal (score > 0.5 on training data)", reason: noLearning }] },
    {
      name: "transformer",
      factory: () => new OnnxModel({ path: paths.scaler, kind: "transformer" }),
      skip: [
        { check: "fit returns this, and fitting twice gives the same model", reason: predictRefused },
        { check: "toJSON -> fromJSON, structuredClone and save -> load give the same predictions", reason: predictRefused },
      ],
    },
  ];
  for (const { name, factory, skip } of cases) {
    // Files are written in beforeAll; the checks only build estimators when they run.
    for (const c of checkEstimator(factory, { skip })) it(`${name}: ${c.name}`, c.run);
  }
});
