/**
 * OnnxModel inside worker processes of a real LocalCluster: predictions per partition match
 * skein's, each worker process creates one onnxruntime session and reuses it for every partition
 * (counted by onnxSessionStats run on that worker), ParallelPostFit drives it, and a model file
 * missing on the workers fails with its path named.
 */
import { rmSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../src/client/client.js";
import { fromPartitions, makePartition, type FramePartition } from "../src/data/index.js";
import type { Matrix } from "../src/data/matrix.js";
import { LogisticRegression } from "../estimators/glm.js";
import { ParallelPostFit } from "../estimators/parallel.js";
import { makePipeline } from "../estimators/pipeline.js";
import { StandardScaler } from "../estimators/preprocessing.js";
import { OnnxModel, onnxSessionStats, toOnnx, type OnnxSessionStats } from "../estimators/onnx/index.js";
import { applyOnnx, workerPid } from "./fixtures/onnx-tasks.js";
import { maxRelDiff, onnxData, tempDir } from "./fixtures/onnx-data.js";

const tmp = tempDir();
const P = 4;
const { X, yBinary } = onnxData(800, P);
const modelPath = tmp.file("pipe.onnx");
let client: Client;
let skeinModel: Awaited<ReturnType<typeof fit>>;
let onnxModel: OnnxModel;
let addresses: string[];

function fit() {
  return makePipeline(new StandardScaler(), new LogisticRegression({ C: 2 })).fit(X, yBinary);
}

/** Rows [lo, hi) of X. */
function rowsOf(lo: number, hi: number): Matrix {
  return { rows: hi - lo, cols: P, data: X.data.slice(lo * P, hi * P) };
}

const bounds = [0, 100, 100, 250, 400, 480, 600, 700, 800]; // 8 partitions, the second empty

/** Stats of every worker's task thread (one per worker: threadsPerWorker 1). */
async function workerStats(): Promise<OnnxSessionStats[]> {
  return Promise.all(addresses.map((a) => client.submitWith({ workers: a, pure: false }, onnxSessionStats).result()));
}

beforeAll(async () => {
  skeinModel = await fit();
  writeFileSync(modelPath, toOnnx(skeinModel));
  onnxModel = await OnnxModel.load(modelPath);
  client = await Client.connect({ nWorkers: 2, threadsPerWorker: 1 });
  addresses = (await client.workers()).map((w) => w.address);
});

afterAll(async () => {
  await client?.close();
  tmp.remove();
});

describe("OnnxModel on worker processes", () => {
  it("predicts every partition on the workers as skein does, with one session per worker process", async () => {
    expect(addresses.length).toBe(2);
    const before = await workerStats();
    const parts = await client.scatterMany(bounds.slice(0, -1).map((lo, k) => rowsOf(lo, bounds[k + 1])));
    const json = onnxModel.toJSON();
    for (let round = 0; round < 2; round++) {
      const fs = client.map(applyOnnx, parts.map(() => json), parts, parts.map(() => "predictProba" as const), { pure: false });
      const pieces = await client.gather(fs);
      const got = new Float64Array(pieces.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of pieces) {
        got.set(p, at);
        at += p.length;
      }
      expect(maxRelDiff(skeinModel.predictProba(X).data, got)).toBeLessThanOrEqual(1e-9);
    }
    const after = await workerStats();
    for (let w = 0; w < 2; w++) {
      expect(after[w].pid).not.toBe(process.pid);
      expect(after[w].pid).toBe(before[w].pid);
      // One session per worker process that ran partitions, however many partitions and rounds.
      expect(before[w].created).toBe(0);
      expect(after[w].created).toBe(after[w].runs > 0 ? 1 : 0);
      expect(after[w].cached).toBe(after[w].created);
    }
    const runs = after.reduce((s, a, w) => s + a.runs - before[w].runs, 0);
    const created = after.reduce((s, a, w) => s + a.created - before[w].created, 0);
    const reused = after.reduce((s, a, w) => s + a.reused - before[w].reused, 0);
    expect(runs).toBe(16);
    expect(created).toBeGreaterThanOrEqual(1);
    expect(reused).toBe(runs - created);
    expect(after.map((a) => a.pid).sort()).toEqual((await Promise.all(addresses.map((a) => client.submitWith({ workers: a, pure: false }, workerPid).result()))).sort());
  });

  it("runs through ParallelPostFit over a Frame, ids passed through", async () => {
    const names = ["a", "b", "c", "d"];
    const frameParts: FramePartition[] = [];
    for (let k = 0; k + 1 < bounds.length; k++) {
      const lo = bounds[k];
      const hi = bounds[k + 1];
      const cols: Record<string, Float64Array | Int32Array> = { id: Int32Array.from({ length: hi - lo }, (_, i) => lo + i) };
      names.forEach((nm, j) => {
        const c = new Float64Array(hi - lo);
        for (let i = lo; i < hi; i++) c[i - lo] = X.data[i * P + j];
        cols[nm] = c;
      });
      frameParts.push(makePartition(cols));
    }
    const frame = await fromPartitions(frameParts, { client });
    const before = await workerStats();
    const ppf = new ParallelPostFit(onnxModel);
    const out = await ppf.predictProba(frame, { idColumn: "id", columns: names, client });
    expect(out.schema).toEqual([
      { name: "id", dtype: "int32" },
      { name: "proba_0", dtype: "float64" },
      { name: "proba_1", dtype: "float64" },
    ]);
    const got = await out.compute({ client });
    expect(Array.from(got.columns.get("id") as Int32Array)).toEqual(Array.from({ length: 800 }, (_, i) => i));
    const want = skeinModel.predictProba(X);
    const p1 = got.columns.get("proba_1") as Float64Array;
    expect(maxRelDiff(Float64Array.from({ length: 800 }, (_, i) => want.data[2 * i + 1]), p1)).toBeLessThanOrEqual(1e-9);
    const labels = await (await ppf.predict(frame, { columns: names, client })).compute({ client });
    expect(Array.from(labels.columns.get("prediction") as Float64Array)).toEqual(Array.from(skeinModel.predict(X)));
    // The same file and content: the sessions made by the first test are reused.
    // Same file, same content: a worker with a session from the first test reuses it.
    const after = await workerStats();
    for (let w = 0; w < 2; w++) {
      expect(after[w].runs).toBeGreaterThan(before[w].runs);
      expect(after[w].created).toBe(1);
    }
  });

  it("a model file missing where the workers look fails naming the path", async () => {
    const path = tmp.file("gone.onnx");
    writeFileSync(path, toOnnx(await new LogisticRegression().fit(X, yBinary)));
    const m = await OnnxModel.load(path);
    rmSync(path);
    const f = client.submit(applyOnnx, m.toJSON(), rowsOf(0, 10), "predict" as const);
    await expect(f.result()).rejects.toThrow(`skein onnx: cannot read model file "${path}": no such file`);
  });

  it("the wrong input width fails on the worker with the shapes", async () => {
    const f = client.submit(applyOnnx, onnxModel.toJSON(), { rows: 1, cols: 3, data: new Float64Array(3) }, "predict" as const);
    await expect(f.result()).rejects.toThrow(`skein estimators: OnnxModel.predict: X has 3 columns, the model's input "X" takes 4`);
  });
});

describe("OnnxModel on in-process workers (processes: false)", () => {
  it("each task thread of this process opens its own session once", async () => {
    const local = await Client.connect({ processes: false, nWorkers: 2, threadsPerWorker: 1 });
    try {
      const parts = await local.scatterMany(bounds.slice(0, -1).map((lo, k) => rowsOf(lo, bounds[k + 1])));
      const json = onnxModel.toJSON();
      const pieces = await local.gather(local.map(applyOnnx, parts.map(() => json), parts, parts.map(() => "predict" as const)));
      expect(Array.from(pieces.flatMap((p) => Array.from(p)))).toEqual(Array.from(onnxModel.predict(X)));
      const stats = await Promise.all((await local.workers()).map((w) => local.submitWith({ workers: w.address, pure: false }, onnxSessionStats).result()));
      expect(stats.map((s) => s.pid)).toEqual([process.pid, process.pid]);
      expect(new Set(stats.map((s) => s.threadId)).size).toBe(2);
      for (const s of stats) expect(s.created).toBe(s.runs > 0 ? 1 : 0);
      expect(stats.reduce((n, s) => n + s.runs, 0)).toBe(8);
    } finally {
      await local.close();
    }
  });
});
