import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Matrix } from "../src/data/matrix.js";
import {
  ColumnTransformer,
  GridSearchCV,
  HalvingGridSearchCV,
  Incremental,
  OnnxModel,
  RandomizedSearchCV,
  XGBRanker,
  toOnnx,
  uniform,
  LinearRegression,
  LogisticRegression,
  MODEL_FORMAT_VERSION,
  MinMaxScaler,
  NearestCentroid,
  OneHotEncoder,
  ParallelPostFit,
  Pipeline,
  PoissonRegression,
  PolynomialFeatures,
  RidgeRegression,
  SimpleImputer,
  StandardScaler,
  XGBClassifier,
  XGBRegressor,
  decodeModel,
  encodeModel,
  load,
  save,
  sidecarPath,
  type Estimator,
} from "../estimators/index.js";
import { Rng } from "../estimators/split.js";
import { StreamingLeastSquares } from "./fixtures/incremental-estimators.js";

const dir = mkdtempSync(join(tmpdir(), "skein-persist-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function dataset(n: number, p: number, seed: number): { X: Matrix; y: Float64Array; yc: Float64Array; y3: Float64Array; counts: Float64Array; cats: Matrix } {
  const r = new Rng(seed);
  const X = new Float64Array(n * p);
  const y = new Float64Array(n);
  const yc = new Float64Array(n);
  const y3 = new Float64Array(n);
  const counts = new Float64Array(n);
  const cats = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < p; j++) s += (j + 1) * 0.3 * (X[i * p + j] = r.next() * 2 - 1);
    y[i] = 2 + s + 0.05 * (r.next() - 0.5);
    yc[i] = s + 0.3 * (r.next() - 0.5) > 0 ? 1 : 0;
    y3[i] = s < -0.4 ? 0 : s < 0.4 ? 1 : 2;
    counts[i] = Math.floor(Math.exp(0.5 + 0.5 * s) + r.next());
    cats[2 * i] = i % 3;
    cats[2 * i + 1] = (i * 7) % 4;
  }
  return { X: { rows: n, cols: p, data: X }, y, yc, y3, counts, cats: { rows: n, cols: 2, data: cats } };
}

const d = dataset(120, 4, 11);

type Output = [string, Float64Array];

function outputsOf(est: Estimator, X: Matrix): Output[] {
  const out: Output[] = [];
  if (est.predict) out.push(["predict", est.predict(X)]);
  if (est.predictProba && est.tags.classifier) out.push(["predictProba", est.predictProba(X).data]);
  if (est.transform && est.tags.transformer) out.push(["transform", est.transform(X).data]);
  return out;
}

const cases: [string, () => Promise<Estimator>, Matrix][] = [
  ["StandardScaler", () => new StandardScaler().fit(d.X), d.X],
  ["MinMaxScaler", () => new MinMaxScaler({ featureRange: [-1, 1] }).fit(d.X), d.X],
  ["SimpleImputer", () => new SimpleImputer({ strategy: "median" }).fit(d.X), d.X],
  ["OneHotEncoder", () => new OneHotEncoder().fit(d.cats), d.cats],
  ["PolynomialFeatures", () => new PolynomialFeatures({ degree: 3 }).fit(d.X), d.X],
  ["RidgeRegression", () => new RidgeRegression({ alpha: 0.3 }).fit(d.X, d.y), d.X],
  ["NearestCentroid", () => new NearestCentroid().fit(d.X, d.y3), d.X],
  ["LogisticRegression (binary)", () => new LogisticRegression({ C: 0.7 }).fit(d.X, d.yc), d.X],
  ["LogisticRegression (multinomial)", () => new LogisticRegression().fit(d.X, d.y3), d.X],
  ["LinearRegression (l1)", () => new LinearRegression({ penalty: "l1", alpha: 0.01 }).fit(d.X, d.y), d.X],
  ["PoissonRegression", () => new PoissonRegression({ alpha: 0.1 }).fit(d.X, d.counts), d.X],
  ["Pipeline(scaler, poly, logistic)", () => new Pipeline({ steps: [["s", new StandardScaler()], ["p", new PolynomialFeatures()], ["lr", new LogisticRegression()]] }).fit(d.X, d.yc), d.X],
  [
    "ColumnTransformer",
    () => new ColumnTransformer({ transformers: [["a", new StandardScaler(), [0, 1]], ["b", new MinMaxScaler(), [2]]], remainder: "passthrough" }).fit(d.X),
    d.X,
  ],
  ["GridSearchCV(ridge)", () => new GridSearchCV({ estimator: new RidgeRegression(), paramGrid: { alpha: [0.1, 1] }, cv: 3 }).fit(d.X, d.y, { client: null }), d.X],
  ["ParallelPostFit(LogisticRegression)", () => new ParallelPostFit(new LogisticRegression()).fit(d.X, d.yc), d.X],
  ["ParallelPostFit(wrapping a fitted model)", async () => new ParallelPostFit(await new RidgeRegression().fit(d.X, d.y)), d.X],
  ["Incremental(StreamingLeastSquares)", () => new Incremental(new StreamingLeastSquares(), { randomState: 2, chunkSize: 25 }).fit(d.X, d.y), d.X],
  ["XGBClassifier", () => new XGBClassifier({ nEstimators: 5, maxDepth: 3 }).fit(d.X, d.yc), d.X],
  ["XGBRegressor", () => new XGBRegressor({ nEstimators: 5, maxDepth: 3 }).fit(d.X, d.y), d.X],
  ["XGBRanker", () => new XGBRanker({ nEstimators: 5, maxDepth: 3 }).fit(d.X, d.y3, { qid: Float64Array.from({ length: 120 }, (_, i) => Math.floor(i / 30)) }), d.X],
  ["RandomizedSearchCV(ridge)", () => new RandomizedSearchCV({ estimator: new RidgeRegression(), paramDistributions: { alpha: uniform(0.1, 2) }, nIter: 2, cv: 3, seed: 0 }).fit(d.X, d.y, { client: null }), d.X],
  [
    "HalvingGridSearchCV(pipeline)",
    () =>
      new HalvingGridSearchCV({
        estimator: new Pipeline({ steps: [["poly", new PolynomialFeatures()], ["ridge", new RidgeRegression()]] }),
        paramGrid: { ridge__alpha: [0.1, 1, 10] },
        resource: "poly__degree",
        minResources: 1,
        maxResources: 2,
        factor: 2,
        cv: 3,
      }).fit(d.X, d.y, { client: null }),
    d.X,
  ],
  [
    "OnnxModel (toOnnx of a pipeline)",
    async () => {
      const pipe = await new Pipeline({ steps: [["s", new StandardScaler()], ["lr", new LogisticRegression()]] }).fit(d.X, d.yc);
      const path = join(dir, "pipe.onnx");
      writeFileSync(path, toOnnx(pipe));
      return OnnxModel.load(path);
    },
    d.X,
  ],
];

describe("save -> load gives the same predictions", () => {
  cases.forEach(([label, make, X], k) => {
    it(label, async () => {
      const est = await make();
      const before = outputsOf(est, X);
      expect(before.length).toBeGreaterThan(0);
      for (const min of [64, Infinity]) {
        const path = join(dir, `case-${k}-${min}.json`);
        await save(est, path, { sidecarMinBytes: min });
        const back = await load(path);
        expect(back.estimatorType).toBe(est.estimatorType);
        expect(back.fitted).toBe(true);
        expect(JSON.stringify(back.getParams(false), (_k, v: unknown) => (typeof v === "object" && v !== null && "toJSON" in v ? (v as Estimator).estimatorType : v))).toBe(
          JSON.stringify(est.getParams(false), (_k, v: unknown) => (typeof v === "object" && v !== null && "toJSON" in v ? (v as Estimator).estimatorType : v)),
        );
        const after = outputsOf(back, X);
        expect(after.map((o) => o[0])).toEqual(before.map((o) => o[0]));
        after.forEach(([, v], i) => expect(Array.from(v)).toEqual(Array.from(before[i][1])));
      }
    });
  });

  it("large typed arrays go to the sidecar, aligned; small ones stay inline; NaN and Infinity survive", async () => {
    const est = await new StandardScaler().fit(dataset(50, 200, 3).X);
    const { text, sidecar } = encodeModel(est, { sidecarMinBytes: 1024 });
    const header = JSON.parse(text) as { version: number; sidecar: { bytes: number }; estimator: { state: Record<string, unknown> } };
    expect(header.version).toBe(MODEL_FORMAT_VERSION);
    expect(sidecar!.byteLength).toBe(header.sidecar.bytes);
    const typed = Object.values(header.estimator.state).filter((v): v is { $typed: string; offset?: number } => typeof v === "object" && v !== null && "$typed" in v);
    expect(typed.length).toBeGreaterThan(0);
    for (const t of typed) expect((t.offset ?? 0) % 8).toBe(0);
    const json = decodeModel(text, sidecar, "mem");
    expect(json.type).toBe("StandardScaler");

    const weird = await new RidgeRegression().fit(d.X, d.y);
    const inner = weird.toJSON();
    (inner.state as Record<string, unknown>).extra = Float64Array.of(NaN, Infinity, -Infinity, 1.5);
    const fake = { ...weird, toJSON: () => inner } as unknown as Estimator;
    Object.setPrototypeOf(fake, Object.getPrototypeOf(weird));
    const enc = encodeModel(fake, { sidecarMinBytes: Infinity });
    expect(enc.sidecar).toBe(null);
    const extra = (decodeModel(enc.text, null).state as { extra: Float64Array }).extra;
    expect(Array.from(extra)).toEqual([NaN, Infinity, -Infinity, 1.5]);
  });

  it("save writes atomically: no temporary files left, and a model without large arrays removes a stale sidecar", async () => {
    const sub = mkdtempSync(join(dir, "atomic-"));
    const path = join(sub, "model.json");
    await save(await new StandardScaler().fit(dataset(40, 600, 1).X), path);
    expect(readdirSync(sub).sort()).toEqual(["model.bin", "model.json"]);
    await save(await new RidgeRegression().fit(d.X, d.y), path);
    expect(readdirSync(sub).sort()).toEqual(["model.json"]);
    expect(sidecarPath("/x/m.json")).toBe("/x/m.bin");
    expect(sidecarPath("/x/m.model")).toBe("/x/m.model.bin");
  });
});

describe("load fails clearly", () => {
  async function saved(name: string): Promise<{ path: string; side: string }> {
    const path = join(dir, `${name}.json`);
    await save(await new StandardScaler().fit(dataset(40, 600, 1).X), path);
    return { path, side: sidecarPath(path) };
  }

  it("on a newer format version", async () => {
    const { path } = await saved("newer");
    writeFileSync(path, readFileSync(path, "utf8").replace(`"version":${MODEL_FORMAT_VERSION}`, `"version":${MODEL_FORMAT_VERSION + 1}`));
    await expect(load(path)).rejects.toThrow(
      `skein estimators: load: ${path} is model format version ${MODEL_FORMAT_VERSION + 1}, newer than this skein reads (up to ${MODEL_FORMAT_VERSION}); upgrade skein to load it`,
    );
  });

  it("on truncated JSON", async () => {
    const { path } = await saved("truncated");
    const text = readFileSync(path, "utf8");
    writeFileSync(path, text.slice(0, text.length >> 1));
    await expect(load(path)).rejects.toThrow(new RegExp(`^skein estimators: load: ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not valid JSON \\(truncated or corrupted\\?\\): `));
  });

  it("on a file that is not a model, and on a missing file", async () => {
    const path = join(dir, "other.json");
    writeFileSync(path, JSON.stringify({ hello: 1 }));
    await expect(load(path)).rejects.toThrow(`skein estimators: load: ${path} is not a skein model file (no "format": "skein-model")`);
    await expect(load(join(dir, "nope.json"))).rejects.toThrow(`skein estimators: load: cannot read ${join(dir, "nope.json")}: ENOENT`);
  });

  it("on a truncated, corrupted or missing sidecar", async () => {
    const { path, side } = await saved("side");
    const bytes = readFileSync(side);
    writeFileSync(side, bytes.subarray(0, bytes.length - 8));
    await expect(load(path)).rejects.toThrow(`skein estimators: load: sidecar side.bin of ${path} has ${bytes.length - 8} bytes, the model file says ${bytes.length} (truncated or replaced?)`);
    const flipped = Buffer.from(bytes);
    flipped[100] ^= 1;
    writeFileSync(side, flipped);
    await expect(load(path)).rejects.toThrow(/^skein estimators: load: sidecar side\.bin of .* is corrupted \(SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64}\)$/);
    rmSync(side);
    await expect(load(path)).rejects.toThrow(`skein estimators: load: sidecar ${side} of ${path} cannot be read: ENOENT`);
  });

  it("on an unknown estimator type, naming the path", async () => {
    const { path } = await saved("unknown");
    const file = JSON.parse(readFileSync(path, "utf8")) as { estimator: { type: string; module?: string } };
    file.estimator.type = "NoSuchModel";
    delete file.estimator.module;
    writeFileSync(path, JSON.stringify(file));
    await expect(load(path)).rejects.toThrow(`skein estimators: load: ${path}: skein estimators: fromJSON: unknown estimator type "NoSuchModel"`);
  });
});
