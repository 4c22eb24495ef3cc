import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkEstimator, fromJSON, loadEstimator, saveEstimator } from "../estimators/index.js";
import { HalvingGridSearchCV } from "../estimators/halving.js";
import { load, save } from "../estimators/persist.js";
import { dataParallelStep, dropSession } from "../estimators/tfjs/distributed-tasks.js";
import { KerasClassifier, KerasRegressor, mlp, type KerasState, type ModelFactoryArgs } from "../estimators/tfjs/index.js";
import type { Matrix } from "../src/data/matrix.js";
import { fixedWidth, notAModel, sigmoidNet } from "./fixtures/tfjs-models.js";

const classifier = () => new KerasClassifier({ model: mlp, modelParams: { hiddenLayerSizes: [8] }, epochs: 20, batchSize: 8, learningRate: 0.05, randomState: 1 });
const regressor = () => new KerasRegressor({ model: mlp, modelParams: { hiddenLayerSizes: [] }, epochs: 60, batchSize: 8, optimizer: "sgd", learningRate: 0.05, randomState: 1 });

describe("checkEstimator KerasClassifier", () => {
  for (const c of checkEstimator(classifier)) it(c.name, c.run, 120_000);
});
describe("checkEstimator KerasRegressor", () => {
  for (const c of checkEstimator(regressor)) it(c.name, c.run, 120_000);
});

// ------------------------------------------------------------------ behaviour

function blobs2(n = 60): { X: Matrix; y: Float64Array } {
  let s = 17;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const X = new Float64Array(n * 3);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2 ? 5 : -1;
    for (let j = 0; j < 3; j++) X[i * 3 + j] = (i % 2 ? 1 : -1) + (r() - 0.5);
  }
  return { X: { rows: n, cols: 3, data: X }, y };
}

function weightsDiff(a: KerasClassifier | KerasRegressor, b: KerasClassifier | KerasRegressor): number {
  const wa = (a.toJSON().state as KerasState).weights.values;
  const wb = (b.toJSON().state as KerasState).weights.values;
  let m = 0;
  wa.forEach((w, k) => w.forEach((v, i) => (m = Math.max(m, Math.abs(v - wb[k][i])))));
  return m;
}

describe("KerasClassifier / KerasRegressor", () => {
  it("keeps fitted weights as Float32Arrays with their shapes, and the factory by reference", async () => {
    const { X, y } = blobs2();
    const est = await classifier().fit(X, y);
    const s = est.toJSON().state as KerasState;
    expect(s.weights.values.every((w) => w instanceof Float32Array)).toBe(true);
    expect(s.weights.shapes).toEqual([[3, 8], [8], [8, 2], [2]]);
    expect(s.factory).toEqual({ module: new URL("../estimators/tfjs/models.ts", import.meta.url).href, name: "mlp" });
    expect(est.toJSON().params.model).toEqual(s.factory);
    expect(s.topology.className).toBe("Sequential");
    expect(s.loss).toBe("categoricalCrossentropy");
    expect(Array.from(est.classes())).toEqual([-1, 5]);
    expect(est.history.length).toBe(20);
    expect(est.history[19]).toBeLessThan(est.history[0]);
  });

  it("randomState seeds the initial weights", async () => {
    const { X, y } = blobs2();
    const a = await new KerasClassifier({ model: mlp, epochs: 1, randomState: 4 }).fit(X, y);
    const b = await new KerasClassifier({ model: mlp, epochs: 1, randomState: 4 }).fit(X, y);
    const c = await new KerasClassifier({ model: mlp, epochs: 1, randomState: 5 }).fit(X, y);
    expect(weightsDiff(a, b)).toBe(0);
    expect(weightsDiff(a, c)).toBeGreaterThan(0.01);
  });

  it("partialFit runs one more epoch from the saved weights and optimizer: 1 + 1 epochs = 2 epochs", async () => {
    const { X, y } = blobs2();
    const two = await new KerasClassifier({ model: mlp, epochs: 2, learningRate: 0.01 }).fit(X, y);
    const one = await new KerasClassifier({ model: mlp, epochs: 1, learningRate: 0.01 }).fit(X, y);
    const again = fromJSON(structuredClone(one.toJSON())) as KerasClassifier;
    await again.partialFit(X, y);
    expect(again.epochsTrained).toBe(2);
    expect(weightsDiff(two, again)).toBeLessThan(1e-6);
    const fresh = new KerasClassifier({ model: mlp });
    await fresh.partialFit(X, y);
    expect(fresh.epochsTrained).toBe(1);
    await expect(again.partialFit({ rows: 1, cols: 3, data: new Float64Array(3) }, new Float64Array([7]))).rejects.toThrow(
      "skein tfjs: KerasClassifier.fit: label 7 at row 0 is not one of the classes [-1, 5]",
    );
  });

  it("routes model__ params into modelParams (scikeras' convention)", () => {
    const est = new KerasClassifier({ model: mlp, modelParams: { activation: "tanh" } });
    est.setParams({ model__hiddenLayerSizes: [3, 2], epochs: 4 });
    expect(est.getParams(false).modelParams).toEqual({ activation: "tanh", hiddenLayerSizes: [3, 2] });
    expect(est.getParams().model__hiddenLayerSizes).toEqual([3, 2]);
    expect(est.getParams().epochs).toBe(4);
  });

  it("a one-column sigmoid model is a binary classifier (binary cross-entropy)", async () => {
    const { X, y } = blobs2();
    const est = await new KerasClassifier({ model: sigmoidNet, epochs: 30, batchSize: 10, learningRate: 0.05 }).fit(X, y);
    expect((est.toJSON().state as KerasState).loss).toBe("binaryCrossentropy");
    const p = est.predictProba(X);
    expect([p.rows, p.cols]).toEqual([60, 2]);
    expect(p.data[0] + p.data[1]).toBeCloseTo(1, 12);
    expect(est.score(X, y)).toBe(1);
  });

  it("fails clearly on a bad model, a bad loss, a closure that must travel", async () => {
    const { X, y } = blobs2();
    await expect(new KerasClassifier({ model: fixedWidth, modelParams: { width: 3 } }).fit(X, y)).rejects.toThrow(
      "skein tfjs: the model's output shape is [null, 3], expected [null, 2] (nOutputs)",
    );
    await expect(new KerasClassifier({ model: notAModel as never }).fit(X, y)).rejects.toThrow(
      'skein tfjs: the model factory "notAModel" must return a tf.LayersModel (tf.sequential() or tf.model()), got object',
    );
    await expect(new KerasClassifier({}).fit(X, y)).rejects.toThrow(
      'skein estimators: KerasClassifier: parameter "model" must be an exported factory function (args) => tf.LayersModel or { module, name }, got null',
    );
    await expect(new KerasRegressor({ model: mlp, loss: "binaryCrossentropy" }).fit(X, y)).rejects.toThrow(
      'skein estimators: KerasRegressor: loss "binaryCrossentropy" is for classifiers; regressors take "mse" or "mae"',
    );
    await expect(new KerasClassifier({ model: mlp, optimizer: "lion" as never }).fit(X, y)).rejects.toThrow(
      'parameter "optimizer" must be one of "sgd", "momentum", "adam", "rmsprop", "adagrad", got "lion"',
    );
    // A closure trains here, but cannot travel to workers or be saved.
    const local = await new KerasClassifier({ model: (a) => mlp(a), epochs: 1 }).fit(X, y);
    expect(local.predict(X).length).toBe(60);
    expect(() => local.toJSON()).toThrow('skein tfjs: the model factory "model" is not exported by its module, so this estimator cannot travel');
    expect(() => new KerasClassifier({ model: [(a: ModelFactoryArgs) => mlp(a)][0] }).toJSON()).toThrow(/cannot run an anonymous function/);
  });

  it("functional models (tf.model) work, and warmStart continues training", async () => {
    const { X, y } = blobs2();
    const est = new KerasClassifier({ model: fixedWidth, epochs: 2, warmStart: true, learningRate: 0.05 });
    await est.fit(X, y);
    await est.fit(X, y);
    expect((est.toJSON().state as KerasState).topology.className).toBe("Model");
    expect(est.epochsTrained).toBe(4);
    expect(est.history.length).toBe(4);
  });

  it("save / load (estimators/persist) keeps the weights in the binary sidecar", async () => {
    const { X, y } = blobs2();
    const est = await classifier().fit(X, y);
    const dir = await mkdtemp(join(tmpdir(), "skein-tfjs-"));
    try {
      const path = join(dir, "model.json");
      await save(est, path, { sidecarMinBytes: 16 });
      const text = await readFile(path, "utf8");
      expect(text).toContain('"$typed":"Float32Array","offset"');
      const back = (await load(path)) as KerasClassifier;
      expect(back).toBeInstanceOf(KerasClassifier);
      expect(Array.from(back.predictProba(X).data)).toEqual(Array.from(est.predictProba(X).data));
      expect(loadEstimator(saveEstimator(est)).predict!(X)).toEqual(est.predict(X));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a worker replica that is missing or behind asks for the state instead of computing", async () => {
    const { X, y } = blobs2();
    const est = await classifier().fit(X, y);
    const s = est.toJSON().state as KerasState;
    const spec = {
      id: "unit-session",
      topology: s.topology,
      optimizer: { name: "adam" as const, learningRate: 0.01, momentum: 0.9 },
      loss: s.loss,
      nOutputs: 2,
      classes: s.classes,
      plan: { batchSize: 20, shuffle: false, randomState: 0, totalRows: 60 },
    };
    const part = { X, y };
    const msg = { step: 4, epoch: 1, s: 1, apply: null, state: null, parts: [0] };
    expect(await dataParallelStep(spec, msg, part)).toMatchObject({ ok: false, needState: true });
    const seeded = await dataParallelStep(spec, { ...msg, state: { weights: s.weights, optimizer: s.optimizer } }, part);
    expect(seeded).toMatchObject({ ok: true, rows: 20 });
    // Step 4 again (a retried task): the replica is already there, no update applied twice.
    const retried = await dataParallelStep(spec, msg, part);
    expect(retried.ok && seeded.ok && Array.from(retried.grad)).toEqual(seeded.ok && Array.from(seeded.grad));
    expect(await dataParallelStep(spec, { ...msg, step: 9 }, part)).toMatchObject({ ok: false, needState: true });
    expect(dropSession("unit-session")).toBe(true);
    expect(dropSession("unit-session")).toBe(false);
  });

  it("successive halving tunes it with epochs as the resource: a param, or partialFit calls (one epoch each)", async () => {
    const { X, y } = blobs2(90);
    for (const resource of ["epochs", "partialFit"]) {
      const search = new HalvingGridSearchCV({
        estimator: new KerasClassifier({ model: mlp, batchSize: 16, randomState: 2 }),
        paramGrid: { learningRate: [0.0001, 0.001, 0.01, 0.1] },
        resource,
        minResources: 1,
        maxResources: 4,
        factor: 2,
        cv: 3,
      });
      await search.fit(X, y, { client: null });
      const best = search.bestEstimator as KerasClassifier;
      expect(best.epochsTrained).toBe(4);
      expect(search.bestScore).toBeGreaterThan(0.9);
    }
  }, 240_000);

  it("fits local partitions; continuing a fit keeps its classes (a missing class is fine, a new one is refused)", async () => {
    const { X, y } = blobs2(60);
    const half = (lo: number, hi: number) => ({ X: { rows: hi - lo, cols: 3, data: X.data.slice(lo * 3, hi * 3) }, y: y.slice(lo, hi) });
    const est = new KerasClassifier({ model: mlp, epochs: 2, batchSize: 10, warmStart: true });
    await est.fit([half(0, 30), half(30, 60)]);
    expect(Array.from(est.classes())).toEqual([-1, 5]);
    const onlyFives = { X: { rows: 2, cols: 3, data: X.data.slice(3, 9) }, y: new Float64Array([5, 5]) };
    await est.fit([onlyFives]);
    expect(Array.from(est.classes())).toEqual([-1, 5]);
    expect(est.epochsTrained).toBe(4);
    await expect(est.fit([{ X: onlyFives.X, y: new Float64Array([5, 6]) }])).rejects.toThrow(
      "skein estimators: KerasClassifier.fit: label 6 is not one of the fitted classes [-1, 5]",
    );
    await expect(new KerasClassifier({ model: mlp }).fit([{ X: onlyFives.X, y: new Float64Array([5, NaN]) }])).rejects.toThrow(
      "skein tfjs: partition 0: y has a non-finite value (NaN) at row 1",
    );
  });
});
