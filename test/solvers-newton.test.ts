import { describe, expect, it } from "vitest";
import { LocalProblem, newton } from "../solvers/index.js";
import { oracleCases } from "./fixtures/glm/cases.js";
import { logisticData, partitionsOf } from "./fixtures/glm-data.js";

oracleCases("newton", newton);

describe("newton's sample warm start", () => {
  const spec = { family: "logistic" as const, fitIntercept: true };
  const { X, y } = logisticData(40_000, 6, 11);
  const parts = partitionsOf(X, y, 4);
  const opts = { penalty: "l2" as const, C: 0.5, tol: 1e-9 };

  it("reaches the same optimum in fewer full-data iterations", async () => {
    const plain = await newton(new LocalProblem(parts, spec), { ...opts, sampleWarmStart: false });
    const sampled = await newton(new LocalProblem(parts, spec), { ...opts, sampleWarmStart: 20 });
    expect(plain.converged && sampled.converged).toBe(true);
    expect(Math.abs(sampled.objective - plain.objective) / plain.objective).toBeLessThan(1e-12);
    for (let j = 0; j < plain.theta.length; j++) expect(Math.abs(sampled.theta[j] - plain.theta[j])).toBeLessThan(1e-7);
    expect(sampled.nIter).toBeLessThan(plain.nIter);
  });

  it("is off below 200,000 rows by default, and when x0 is given", async () => {
    const plain = await newton(new LocalProblem(parts, spec), { ...opts, sampleWarmStart: false });
    const auto = await newton(new LocalProblem(parts, spec), opts);
    expect([auto.nIter, auto.nPasses, auto.objective]).toEqual([plain.nIter, plain.nPasses, plain.objective]);
    const x0 = new Float64Array(plain.theta.length);
    const given = await newton(new LocalProblem(parts, spec), { ...opts, x0, sampleWarmStart: 20 });
    expect([given.nIter, given.objective]).toEqual([plain.nIter, plain.objective]);
  });

  it("still reaches the full optimum when the sample is separable (its optimum at infinity)", async () => {
    // Every other row is separable on its own (y = x > 0); the rows in between carry label noise,
    // so the full problem has a finite optimum while the stride-2 sample has none.
    const n = 2_000;
    const data = new Float64Array(n);
    const labels = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      data[i] = ((i * 7919) % 1000) / 500 - 1 + 1e-3;
      labels[i] = i % 2 === 0 ? (data[i] > 0 ? 1 : 0) : i % 6 === 1 ? 1 : 0;
    }
    const oneCol = [{ X: { rows: n, cols: 1, data }, y: labels }];
    const s = { family: "logistic" as const, fitIntercept: false };
    const plain = await newton(new LocalProblem(oneCol, s), { penalty: "none", tol: 1e-9, sampleWarmStart: false });
    const sampled = await newton(new LocalProblem(oneCol, s), { penalty: "none", tol: 1e-9, sampleWarmStart: 2 });
    expect(plain.converged && sampled.converged).toBe(true);
    // The sample stops at a large coefficient (41.5 here) where its gradient is tiny; Newton's
    // line search on the full data comes back from there to the finite optimum (1.70).
    expect(Math.abs(sampled.theta[0] - plain.theta[0])).toBeLessThan(1e-8);
    expect(Math.abs(sampled.objective - plain.objective) / plain.objective).toBeLessThan(1e-12);
  });

  it("rejects a stride below 2", async () => {
    await expect(newton(new LocalProblem(parts, spec), { ...opts, sampleWarmStart: 1 })).rejects.toThrow(
      'glm: sampleWarmStart must be "auto", false or an integer stride >= 2, got 1',
    );
  });
});
