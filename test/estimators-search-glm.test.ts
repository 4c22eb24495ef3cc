/**
 * GridSearchCV over skein's LogisticRegression (estimators/glm.ts), on a LocalCluster, against
 * scikit-learn. Expected numbers computed once with /usr/bin/python3 and scikit-learn 1.2.1:
 *   X[i, j] = sin(0.37 i (j + 1) + j), n = 300, p = 5;
 *   y[i] = 1 if sum_j X[i, j] (j % 3 - 1) + 0.3 cos(1.7 i) > 0 else 0;
 *   GridSearchCV(LogisticRegression(tol=1e-10, max_iter=10000), {"C": [0.01, 0.1, 1, 10]}, cv=3,
 *     scoring=["neg_log_loss", "accuracy"], refit="neg_log_loss").fit(X, y)
 *   GridSearchCV(LogisticRegression(penalty="l1", solver="saga", tol=1e-12, max_iter=100000),
 *     {"C": [0.05, 0.5, 5]}, cv=3, scoring="neg_log_loss").fit(X, y)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../src/client/client.js";
import type { Matrix } from "../src/data/matrix.js";
import { LogisticRegression } from "../estimators/glm.js";
import { GridSearchCV } from "../estimators/index.js";

const n = 300;
const p = 5;
const X: Matrix = { rows: n, cols: p, data: new Float64Array(n * p) };
const y = new Float64Array(n);
for (let i = 0; i < n; i++) {
  let s = 0;
  for (let j = 0; j < p; j++) {
    X.data[i * p + j] = Math.sin(i * 0.37 * (j + 1) + j);
    s += X.data[i * p + j] * ((j % 3) - 1);
  }
  y[i] = s + 0.3 * Math.cos(i * 1.7) > 0 ? 1 : 0;
}

function expectClose(actual: unknown, expected: number[], tol: number) {
  const a = actual as number[];
  expect(a.length).toBe(expected.length);
  a.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(tol));
}

describe("GridSearchCV(LogisticRegression) vs scikit-learn", () => {
  let client: Client;
  beforeAll(async () => {
    client = await Client.connect({ processes: false, nWorkers: 2 });
  });
  afterAll(async () => {
    await client.close();
  });

  it("L2: cvResults within 1e-4 and the same candidate", async () => {
    const s = new GridSearchCV({
      estimator: new LogisticRegression({ tol: 1e-10, maxIter: 10_000 }),
      paramGrid: { C: [0.01, 0.1, 1, 10] },
      cv: 3,
      scoring: ["neg_log_loss", "accuracy"],
      refit: "neg_log_loss",
    });
    await s.fit(X, y, { client });
    const r = s.cvResults;
    expectClose(r.split0_test_neg_log_loss, [-0.5018812066139817, -0.24105856076441334, -0.1102745602012709, -0.07623123569545649], 1e-4);
    expectClose(r.mean_test_neg_log_loss, [-0.5062492445492057, -0.2538612458411558, -0.12917937921951128, -0.09908832316808497], 1e-4);
    expectClose(r.mean_test_accuracy, [0.7266666666666666, 0.9633333333333333, 0.9666666666666667, 0.9666666666666667], 1e-12);
    expect(r.rank_test_neg_log_loss).toEqual([4, 3, 2, 1]);
    expect(s.bestIndex).toBe(3);
    expect(Math.abs(s.bestScore - -0.09908832316808497)).toBeLessThanOrEqual(1e-4);
  });

  it("L1: cvResults within 1e-4", async () => {
    const s = new GridSearchCV({ estimator: new LogisticRegression({ penalty: "l1", tol: 1e-10, maxIter: 10_000 }), paramGrid: { C: [0.05, 0.5, 5] }, cv: 3, scoring: "neg_log_loss" });
    await s.fit(X, y, { client });
    expectClose(s.cvResults.mean_test_score, [-0.3771148656005552, -0.11993185426155346, -0.09520578797769878], 1e-4);
    expect(s.bestIndex).toBe(2);
  });
});
