import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../src/client/client.js";
import { Delayed } from "../src/graph/delayed.js";
import { Frame, fromPartitions, makePartition, readParquet, writeParquet, type FramePartition } from "../src/data/index.js";
import { MatrixCollection, XYCollection } from "../src/data/matrix-collection.js";
import type { Matrix } from "../src/data/matrix.js";
import {
  GridSearchCV,
  LogisticRegression,
  NearestCentroid,
  Pipeline,
  RidgeRegression,
  StandardScaler,
  checkEstimator,
  fromJSON,
} from "../estimators/index.js";
import { Incremental } from "../estimators/incremental.js";
import { ParallelPostFit } from "../estimators/parallel.js";
import { Rng } from "../estimators/split.js";
import { StreamingLeastSquares } from "./fixtures/incremental-estimators.js";

/** Deterministic rows: x_j in [-2, 2), label 1 when a fixed linear score is positive. */
function data(n: number, seed: number, p = 4): { X: Matrix; y: Float64Array; yr: Float64Array } {
  const r = new Rng(seed);
  const X = new Float64Array(n * p);
  const y = new Float64Array(n);
  const yr = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < p; j++) {
      const v = r.next() * 4 - 2;
      X[i * p + j] = v;
      s += (j % 2 ? -1 : 1) * (j + 1) * 0.5 * v;
    }
    y[i] = s + (r.next() - 0.5) > 0 ? 1 : 0;
    yr[i] = 3 + s + 0.1 * (r.next() - 0.5);
  }
  return { X: { rows: n, cols: p, data: X }, y, yr };
}

const names = ["a", "b", "c", "d"];

/** A Frame partition of rows [lo, hi) with an int32 id column first and the target last. */
function part(d: { X: Matrix; y: Float64Array }, lo: number, hi: number): FramePartition {
  const cols: Record<string, Float64Array | Int32Array> = { id: Int32Array.from({ length: hi - lo }, (_, i) => 1000 + lo + i) };
  names.forEach((nm, j) => {
    const c = new Float64Array(hi - lo);
    for (let i = lo; i < hi; i++) c[i - lo] = d.X.data[i * d.X.cols + j];
    cols[nm] = c;
  });
  cols.label = d.y.slice(lo, hi);
  return makePartition(cols);
}

const bounds = [0, 37, 37, 90, 150, 200]; // partition 1 is empty

describe("ParallelPostFit and Incremental pass the conformance suite", () => {
  const cases: [string, () => ParallelPostFit][] = [
    ["ParallelPostFit(LogisticRegression)", () => new ParallelPostFit(new LogisticRegression({ C: 0.5 }))],
    ["ParallelPostFit(Pipeline(scaler, ridge)) scoring r2", () => new ParallelPostFit(new Pipeline({ steps: [["s", new StandardScaler()], ["r", new RidgeRegression()]] }), { scoring: "r2" })],
    ["ParallelPostFit(StandardScaler)", () => new ParallelPostFit({ estimator: new StandardScaler() })],
    ["Incremental(StreamingLeastSquares)", () => new Incremental(new StreamingLeastSquares(), { randomState: 0, chunkSize: 7 })],
  ];
  for (const [label, factory] of cases) {
    describe(label, () => {
      for (const c of checkEstimator(factory)) it(c.name, c.run);
    });
  }
});

describe("ParallelPostFit locally", () => {
  it("takes its params both ways, nests them and wraps a fitted estimator without refitting", async () => {
    const d = data(80, 1);
    const lr = await new LogisticRegression().fit(d.X, d.y);
    const ppf = new ParallelPostFit(lr, { scoring: "accuracy" });
    expect(ppf.fitted).toBe(true);
    expect(Array.from(ppf.predict(d.X))).toEqual(Array.from(lr.predict(d.X)));
    expect(ppf.getParams().estimator__C).toBe(1);
    ppf.setParams({ estimator__C: 2 });
    expect(lr.getParams().C).toBe(2);
    const again = fromJSON(ppf.toJSON()) as ParallelPostFit;
    expect(again.fitted).toBe(true);
    expect(Array.from(again.predictProba(d.X).data)).toEqual(Array.from(lr.predictProba(d.X).data));
    expect(ppf.score(d.X, d.y)).toBe(lr.score(d.X, d.y));
    expect(new ParallelPostFit(new StandardScaler()).predict).toBe(undefined);
    expect(typeof new ParallelPostFit(new StandardScaler()).transform).toBe("function");
    expect(() => new ParallelPostFit(new LogisticRegression()).predict(d.X)).toThrow(
      "skein estimators: ParallelPostFit is not fitted yet: call fit before predict() (or wrap a fitted estimator)",
    );
  });

  it("is searched over by GridSearchCV like the estimator it wraps", async () => {
    const d = data(90, 9);
    const search = await new GridSearchCV({ estimator: new ParallelPostFit(new LogisticRegression()), paramGrid: { estimator__C: [0.01, 1] }, cv: 3 }).fit(d.X, d.y, { client: null });
    const plain = await new GridSearchCV({ estimator: new LogisticRegression(), paramGrid: { C: [0.01, 1] }, cv: 3 }).fit(d.X, d.y, { client: null });
    expect(search.cvResults.mean_test_score).toEqual(plain.cvResults.mean_test_score);
    expect(search.bestEstimator.estimatorType).toBe("ParallelPostFit");
  });

  it("rejects a bad estimator param on fit", async () => {
    const d = data(10, 2);
    await expect(new ParallelPostFit({ estimator: null }).fit(d.X, d.y)).rejects.toThrow(
      'skein estimators: ParallelPostFit: parameter "estimator" must be an estimator, got null',
    );
  });
});

describe("ParallelPostFit on a cluster", () => {
  let client: Client;
  let dir: string;
  const train = data(300, 3);
  const test = data(200, 4);
  let frame: Frame;
  beforeAll(async () => {
    client = await Client.connect({ processes: false, nWorkers: 2 });
    dir = mkdtempSync(join(tmpdir(), "skein-ppf-"));
    const parts: FramePartition[] = [];
    for (let k = 0; k + 1 < bounds.length; k++) parts.push(part(test, bounds[k], bounds[k + 1]));
    frame = await fromPartitions(parts, { client });
  });
  afterAll(async () => {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("predictProba per partition on the workers equals the local result, with the id column passed through", async () => {
    const ppf = await new ParallelPostFit(new LogisticRegression()).fit(train.X, train.y);
    const out = await ppf.predictProba(frame, { idColumn: "id", columns: names, client });
    expect(out.schema).toEqual([
      { name: "id", dtype: "int32" },
      { name: "proba_0", dtype: "float64" },
      { name: "proba_1", dtype: "float64" },
    ]);
    expect(out.rows).toEqual([37, 0, 53, 60, 50]);
    const local = ppf.predictProba(test.X);
    const got = await out.compute({ client });
    expect(got.rows).toBe(200);
    expect(Array.from(got.columns.get("id") as Int32Array)).toEqual(Array.from({ length: 200 }, (_, i) => 1000 + i));
    const p1 = got.columns.get("proba_1") as Float64Array;
    for (let i = 0; i < 200; i++) expect(p1[i]).toBe(local.data[2 * i + 1]);
    // The empty partition gives an empty output of the same schema.
    const [empty] = client.compute([out.parts[1] as Delayed<FramePartition>]);
    const e = await empty.result();
    expect(e.rows).toBe(0);
    expect([...e.columns.keys()]).toEqual(["id", "proba_0", "proba_1"]);
    expect(e.columns.get("id")).toBeInstanceOf(Int32Array);
    empty.release();
  });

  it("fit passes a partitioned input through to an estimator that takes one (a GLM on an XYCollection)", async () => {
    const ppf = await new ParallelPostFit(new LogisticRegression({ tol: 1e-8 })).fit(frame.splitXY("label", names), undefined, { client });
    const local = await new LogisticRegression({ tol: 1e-8 }).fit(test.X, test.y);
    const a = (ppf.model() as LogisticRegression).coef;
    for (let j = 0; j < 4; j++) expect(a[j]).toBeCloseTo(local.coef[j], 5);
  });

  it("scatters the model once per client and tasks reference it by key", async () => {
    const ppf = await new ParallelPostFit(new LogisticRegression()).fit(train.X, train.y);
    const m1 = await ppf.scatterModel(client);
    const a = await ppf.predict(frame, { columns: names, client });
    const b = await ppf.predictProba(frame, { columns: names, client });
    expect(await ppf.scatterModel(client)).toBe(m1);
    for (const p of [...a.parts, ...b.parts]) {
      const d = p as Delayed<FramePartition>;
      // The model is an external key of each task, not a value inside its arguments.
      expect([...d.external.keys()]).toContain(m1.key);
      expect(JSON.stringify(d.task.args).length).toBeLessThan(600);
    }
    const got = await a.compute({ client });
    expect(Array.from(got.columns.get("prediction") as Float64Array)).toEqual(Array.from(ppf.predict(test.X)));
    // Refitting ships the new model.
    await ppf.fit(train.X, train.y);
    expect(await ppf.scatterModel(client)).not.toBe(m1);
  });

  it("a partition larger than one block (and int32 features) gives the same values as one local call", async () => {
    const big = data(70_001, 8);
    const p = part(big, 0, 70_001);
    p.columns.set("a", Int32Array.from(p.columns.get("a") as Float64Array, (v) => Math.round(v * 10)));
    const ppf = await new ParallelPostFit(new LogisticRegression()).fit(train.X, train.y);
    const X2 = { rows: 70_001, cols: 4, data: big.X.data.slice() };
    for (let i = 0; i < 70_001; i++) X2.data[i * 4] = Math.round(big.X.data[i * 4] * 10);
    const cases: [FramePartition, Matrix][] = [
      [p, X2],
      [part(big, 0, 70_001), big.X],
    ];
    for (const [input, X] of cases) {
      const f = await fromPartitions([input], { client });
      const got = await (await ppf.predictProba(f, { columns: names, client })).compute({ client });
      const want = ppf.predictProba(X);
      const p1 = got.columns.get("proba_1") as Float64Array;
      expect(p1.length).toBe(70_001);
      let same = 0;
      for (let i = 0; i < 70_001; i++) if (p1[i] === want.data[2 * i + 1]) same++;
      expect(same).toBe(70_001);
    }
  });

  it("writes predictions with ids straight to Parquet", async () => {
    const ppf = new ParallelPostFit(await new LogisticRegression().fit(train.X, train.y));
    const out = await ppf.predict(frame, { idColumn: "id", columns: names, client });
    const written = await writeParquet(out, join(dir, "preds"), { client });
    expect(written.map((w) => w.rows)).toEqual([37, 0, 53, 60, 50]);
    const back = await (await readParquet(join(dir, "preds"))).compute({ client });
    expect(Array.from(back.columns.get("id") as Int32Array)).toEqual(Array.from({ length: 200 }, (_, i) => 1000 + i));
    expect(Array.from(back.columns.get("prediction") as Float64Array)).toEqual(Array.from(ppf.predict(test.X)));
  });

  it("predicting straight from readParquet reads inside the prediction task, only the columns it needs, filters included", async () => {
    await writeParquet(frame, join(dir, "inputs"), { client });
    const ppf = new ParallelPostFit(await new LogisticRegression().fit(train.X, train.y));
    const read = await readParquet(join(dir, "inputs"));
    const out = await ppf.predictProba(read, { columns: names, idColumn: "id", client });
    for (const p of out.parts) {
      const d = p as Delayed<FramePartition>;
      expect(d.task.fn?.name).toBe("readPostFitPartition");
      expect((d.task.args[0] as { read: string[] }).read).toEqual(["id", "a", "b", "c", "d"]);
    }
    const got = await out.compute({ client });
    const local = ppf.predictProba(test.X);
    expect(Array.from(got.columns.get("id") as Int32Array)).toEqual(Array.from({ length: 200 }, (_, i) => 1000 + i));
    expect(Array.from(got.columns.get("proba_1") as Float64Array)).toEqual(Array.from({ length: 200 }, (_, i) => local.data[2 * i + 1]));
    // A row filter on a column the model does not read: still read for the filter, rows dropped.
    const filtered = await readParquet(join(dir, "inputs"), { filters: [["label", "==", 1]] });
    const fo = await (await ppf.predict(filtered, { columns: names, idColumn: "id", client })).compute({ client });
    const keep = Array.from({ length: 200 }, (_, i) => i).filter((i) => test.y[i] === 1);
    expect(Array.from(fo.columns.get("id") as Int32Array)).toEqual(keep.map((i) => 1000 + i));
    const lp = ppf.predict(test.X);
    expect(Array.from(fo.columns.get("prediction") as Float64Array)).toEqual(keep.map((i) => lp[i]));
    // A model without column-wise predict gets row-major blocks (made by the wasm kernel from
    // the decoded columns): the same bits as predicting the rows locally.
    const pipe = new ParallelPostFit(await new Pipeline({ steps: [["s", new StandardScaler()], ["m", new LogisticRegression()]] }).fit(train.X, train.y));
    const viaRows = await (await pipe.predictProba(read, { columns: names, client })).compute({ client });
    const lr = pipe.predictProba(test.X);
    expect(Array.from(viaRows.columns.get("proba_0") as Float64Array)).toEqual(Array.from({ length: 200 }, (_, i) => lr.data[2 * i]));
  });

  it("transform of a pipeline, a MatrixCollection input, and a declared output schema", async () => {
    const pipe = new Pipeline({ steps: [["s", new StandardScaler()], ["t", new StandardScaler()]] });
    const ppf = await new ParallelPostFit(pipe).fit(train.X, train.y);
    const mc: MatrixCollection = frame.toMatrix(names);
    const t = await ppf.transform(mc, { client });
    expect(t.columns).toEqual(["t0", "t1", "t2", "t3"]);
    const got = await t.compute({ client });
    const local = ppf.transform(test.X);
    for (let j = 0; j < 4; j++) {
      const c = got.columns.get(`t${j}`) as Float64Array;
      for (let i = 0; i < 200; i++) expect(c[i]).toBe(local.data[i * 4 + j]);
    }
    const f32 = await ppf.transform(frame, { columns: names, outputSchema: names.map((n) => ({ name: `z_${n}`, dtype: "float32" as const })), client });
    const g32 = await f32.compute({ client });
    expect(g32.columns.get("z_c")).toBeInstanceOf(Float32Array);
    expect((g32.columns.get("z_c") as Float32Array)[5]).toBe(Math.fround(local.data[5 * 4 + 2]));
    const wrong = await ppf.transform(frame, { columns: names, outputSchema: [{ name: "only", dtype: "float64" }], client });
    await expect(ppf.transform(frame, { columns: names, outputSchema: [{ name: "s", dtype: "string" }], client })).rejects.toThrow(
      'skein estimators: ParallelPostFit.transform: output column "s" is declared string; model outputs are numbers (float64, float32, int32 or bool)',
    );
    // Whichever partition finishes first reports (partition 1 is empty: it has no model call).
    await expect(wrong.compute({ client })).rejects.toThrow(
      /skein estimators: ParallelPostFit: transform of partition [0234] gave 4 column\(s\), the output schema declares 1 \(only\)$/,
    );
  });

  it("works with a classifier without predictProba (NearestCentroid) and scores on the cluster", async () => {
    const ppf = await new ParallelPostFit(new NearestCentroid(), { scoring: "accuracy" }).fit(train.X, train.y);
    const out = await (await ppf.predict(frame, { columns: names, client })).compute({ client });
    expect(Array.from(out.columns.get("prediction") as Float64Array)).toEqual(Array.from(ppf.predict(test.X)));
    const s = await ppf.score(frame, { target: "label", columns: names, client });
    expect(s).toBe(ppf.score(test.X, test.y));
    const lr = await new ParallelPostFit(new LogisticRegression(), { scoring: "roc_auc" }).fit(train.X, train.y);
    expect(await lr.score(frame, { target: "label", columns: names, client })).toBeCloseTo(lr.score(test.X, test.y), 12);
    const own = await new ParallelPostFit(new LogisticRegression()).fit(train.X, train.y);
    expect(await own.score(frame.splitXY("label", names), { client })).toBe(own.score(test.X, test.y));
  });

  it("a missing id column names the partition; a MatrixCollection cannot pass ids through", async () => {
    const ppf = new ParallelPostFit(await new LogisticRegression().fit(train.X, train.y));
    await expect(ppf.predict(frame, { idColumn: "nope", client })).rejects.toThrow('skein data: no column "nope"');
    await expect(ppf.predict(frame.toMatrix(names), { idColumn: "id", client })).rejects.toThrow(
      "skein estimators: ParallelPostFit.predict: idColumn needs a Frame input; a MatrixCollection has no columns to pass through",
    );
  });

  it("Incremental streams partitions through partialFit on the workers in a seeded shuffled order", async () => {
    const reg = data(200, 5);
    const parts: FramePartition[] = [];
    for (let k = 0; k + 1 < bounds.length; k++) {
      const p = part({ X: reg.X, y: reg.yr }, bounds[k], bounds[k + 1]);
      parts.push(p);
    }
    const f = await fromPartitions(parts, { client });
    const inc = new Incremental(new StreamingLeastSquares(), { randomState: 3 });
    await inc.fit(f.splitXY("label", names), undefined, { client });
    const full = await new StreamingLeastSquares().fit(reg.X, reg.yr);
    const fitted = inc.model() as StreamingLeastSquares;
    const a = fitted.coefficients();
    const b = full.coefficients();
    for (let j = 0; j < a.length; j++) expect(a[j]).toBeCloseTo(b[j], 9);
    // The visiting order is Rng(3)'s shuffle; the empty partition adds no block.
    const order = Array.from(new Rng(3).shuffle(Int32Array.from([0, 1, 2, 3, 4])));
    const firsts = order.filter((k) => bounds[k + 1] > bounds[k]).map((k) => reg.yr[bounds[k]]);
    expect((fitted.toJSON().state as { seen: number[] }).seen).toEqual(firsts);
    // A Frame with { target } works the same; predictions come back through ParallelPostFit.
    const inc2 = await new Incremental(new StreamingLeastSquares(), { randomState: 3 }).fit(f, undefined, { target: "label", columns: names, client });
    const pred = await (await inc2.predict(f, { columns: names, client })).compute({ client });
    const local = inc.predict(reg.X);
    const pc = pred.columns.get("prediction") as Float64Array;
    for (let i = 0; i < 200; i++) expect(pc[i]).toBeCloseTo(local[i], 9);
  });

  it("Incremental on a local Matrix visits chunkSize blocks; shuffle: false keeps the order", async () => {
    const reg = data(50, 6);
    const inc = await new Incremental(new StreamingLeastSquares(), { shuffle: false, chunkSize: 20 }).fit(reg.X, reg.yr);
    expect((inc.model().toJSON().state as { seen: number[] }).seen).toEqual([reg.yr[0], reg.yr[20], reg.yr[40]]);
    const shuffled = await new Incremental(new StreamingLeastSquares(), { randomState: 1, chunkSize: 20 }).fit(reg.X, reg.yr);
    const order = Array.from(new Rng(1).shuffle(Int32Array.from([0, 1, 2])));
    expect((shuffled.model().toJSON().state as { seen: number[] }).seen).toEqual(order.map((b) => reg.yr[b * 20]));
    await inc.partialFit(reg.X, reg.yr);
    expect((inc.model().toJSON().state as { seen: number[] }).seen.length).toBe(4);
    await expect(new Incremental(new LogisticRegression()).fit(reg.X, reg.y)).rejects.toThrow("skein estimators: Incremental: LogisticRegression has no partialFit()");
  });

  it("Incremental inside GridSearchCV, in process and on the cluster", async () => {
    const reg = data(120, 7);
    for (const where of [null, client]) {
      const search = new GridSearchCV({
        estimator: new Incremental(new StreamingLeastSquares(), { randomState: 0, chunkSize: 16 }),
        paramGrid: { estimator__alpha: [1e-6, 1000], chunkSize: [8, 16] },
        cv: 3,
      });
      await search.fit(reg.X, reg.yr, { client: where });
      expect(search.cvResults.params.length).toBe(4);
      expect((search.bestParams as { estimator__alpha: number }).estimator__alpha).toBe(1e-6);
      expect(search.bestScore).toBeGreaterThan(0.99);
    }
  });
});
