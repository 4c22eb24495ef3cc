/**
 * XGBoost inside skein's worker processes (koffi + libxgboost loaded on a task thread there): a
 * model fitted on a worker comes back as plain data, and a model fitted here predicts there.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../src/index.js";
import type { Matrix } from "../src/data/matrix.js";
import { fromJSON } from "../estimators/base.js";
import { XGBClassifier } from "../estimators/xgboost/index.js";
import { fitClassifier, predictProba, workerPid } from "./fixtures/xgb/tasks.js";

let client: Client;

beforeAll(async () => {
  client = await Client.connect({ nWorkers: 1, threadsPerWorker: 1 });
});

afterAll(async () => {
  await client?.close();
});

function problem(n: number): { X: Matrix; y: Float64Array } {
  const X = new Float64Array(n * 3);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    X[i * 3] = Math.sin(i * 1.3);
    X[i * 3 + 1] = Math.cos(i * 0.7);
    X[i * 3 + 2] = i % 6 === 0 ? NaN : Math.sin(i * 0.31);
    y[i] = X[i * 3] + 0.3 * X[i * 3 + 1] > 0 ? 1 : 0;
  }
  return { X: { rows: n, cols: 3, data: X }, y };
}

const params = { nEstimators: 8, maxDepth: 3, nJobs: 1, subsample: 0.8, randomState: 5 };

describe("XGBoost on worker processes", () => {
  it("fits on a worker; the model returns as plain data and predicts the same here", async () => {
    expect(await client.submit(workerPid).result()).not.toBe(process.pid);
    const { X, y } = problem(300);
    const json = await client.submit(fitClassifier, X, y, params).result();
    const remote = fromJSON(json) as XGBClassifier;
    const local = await new XGBClassifier(params).fit(X, y);
    expect(Array.from(remote.predictProba(X).data)).toEqual(Array.from(local.predictProba(X).data));
  });

  it("a model fitted here predicts on a worker", async () => {
    const { X, y } = problem(300);
    const local = await new XGBClassifier(params).fit(X, y);
    const remote = await client.submit(predictProba, local.toJSON(), X).result();
    expect(Array.from(remote)).toEqual(Array.from(local.predictProba(X).data));
  });
});
