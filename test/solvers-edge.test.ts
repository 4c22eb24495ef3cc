import { describe, expect, test } from "vitest";
import {
  GlmError,
  GlmObjective,
  LocalProblem,
  admm,
  admmAsync,
  fromSklearn,
  gradientDescent,
  lbfgs,
  newton,
  proximalGradient,
  solve,
  splitRows,
} from "../solvers/index.js";
import type { Partition, SolverName, SolverOptions, SolverResult } from "../solvers/index.js";
import type { PartitionedProblem } from "../solvers/types.js";
import { problemOf } from "./fixtures/glm/cases.js";
import { loadSmall } from "./fixtures/glm/load.js";

type Solve = (p: PartitionedProblem, o: SolverOptions) => Promise<SolverResult>;
const ALL: [SolverName, Solve][] = [
  ["lbfgs", lbfgs],
  ["newton", newton],
  ["proximalGradient", proximalGradient],
  ["admm", admm],
  ["admmAsync", admmAsync],
  ["gradientDescent", gradientDescent],
];

/** Two linearly separable clouds on a line through the origin, in 2 partitions. */
function separable(): LocalProblem {
  const xs = [-3, -2, -1.5, -1, -0.5, 0.5, 1, 1.5, 2, 3];
  const X = new Float64Array(xs.length * 2);
  const y = new Float64Array(xs.length);
  xs.forEach((x, i) => {
    X[2 * i] = x;
    X[2 * i + 1] = 0.3 * x + (i % 2 ? 0.1 : -0.1);
    y[i] = x > 0 ? 1 : 0;
  });
  return new LocalProblem(splitRows({ rows: xs.length, cols: 2, data: X }, y, undefined, 2), {
    family: "logistic",
    fitIntercept: true,
  });
}

describe("separable data", () => {
  test("with l2 every solver finds the same finite optimum", async () => {
    const results: SolverResult[] = [];
    for (const [, fn] of ALL) {
      const r = await fn(separable(), { penalty: "l2", C: 10, tol: 1e-10, absTol: 1e-10, relTol: 1e-9 } as SolverOptions);
      expect(r.converged).toBe(true);
      expect(Array.from(r.theta).every(Number.isFinite)).toBe(true);
      results.push(r);
    }
    const ref = results[1]; // newton
    for (const r of results) {
      expect(Math.abs(r.objective - ref.objective)).toBeLessThan(1e-9 * ref.objective);
      for (let j = 0; j < 3; j++) expect(Math.abs(r.theta[j] - ref.theta[j])).toBeLessThan(1e-5);
    }
    expect(Math.abs(ref.beta[0])).toBeGreaterThan(1); // a real fit, not zero
  });

  test("without a penalty the objective goes to 0 and nothing overflows", async () => {
    for (const fn of [lbfgs, newton, gradientDescent]) {
      const r = await fn(separable(), { maxIter: 60 });
      expect(Array.from(r.theta).every(Number.isFinite)).toBe(true);
      expect(r.objective).toBeGreaterThanOrEqual(0);
      expect(r.objective).toBeLessThan(1e-3);
    }
  });
});

describe("errors", () => {
  test("NaN in X: the constructor names partition, column and row", () => {
    const X = Float64Array.from({ length: 30 }, (_, i) => i / 30);
    X[17] = Number.NaN; // row 5, column 2 -> partition 1 (rows 5..9), row 0
    const parts = splitRows({ rows: 10, cols: 3, data: X }, new Float64Array(10), undefined, 2);
    expect(() => new LocalProblem(parts, { family: "logistic", fitIntercept: true })).toThrow(
      new GlmError("glm: column 2 of partition 1 has NaN at row 0"),
    );
  });

  test("Poisson y < 0", () => {
    const y = Float64Array.of(0, 1, 2, 0, 4, 1, -3, 2);
    const parts = splitRows({ rows: 8, cols: 1, data: new Float64Array(8).fill(1) }, y, undefined, 2);
    expect(() => new LocalProblem(parts, { family: "poisson", fitIntercept: false })).toThrow(
      new GlmError("glm: y value -3 in partition 1 row 2 is outside the Poisson family's domain (y >= 0)"),
    );
  });

  test("unsupported solver x penalty, bad C, bad x0", async () => {
    const p = separable();
    await expect(newton(p, { penalty: "l1" })).rejects.toThrow(
      'glm: solver "newton" does not support penalty "l1" (use lbfgs, proximalGradient, admm or admmAsync)',
    );
    await expect(gradientDescent(p, { penalty: "elasticnet" })).rejects.toThrow(
      'glm: solver "gradientDescent" does not support penalty "elasticnet" (use lbfgs, proximalGradient, admm or admmAsync)',
    );
    await expect(lbfgs(p, { C: 0 })).rejects.toThrow("glm: C must be a finite number > 0, got 0");
    await expect(lbfgs(p, { x0: new Float64Array(2) })).rejects.toThrow("glm: x0 has length 2, expected 3");
    await expect(solve(p, { solver: "sgd" as SolverName })).rejects.toThrow('glm: unknown solver "sgd"');
  });

  test("a problem without Hessian or local solves", async () => {
    const base = separable();
    const bare: PartitionedProblem = {
      nPartitions: base.nPartitions,
      p: base.p,
      spec: base.spec,
      nRows: base.nRows,
      sumWeights: base.sumWeights,
      loss: (t) => base.loss(t),
      lossGrad: (t) => base.lossGrad(t),
    };
    await expect(newton(bare, {})).rejects.toThrow('glm: solver "newton" needs a problem with lossGradHess');
    await expect(admm(bare, {})).rejects.toThrow('glm: solver "admm" needs a problem with localProx');
    await expect(admmAsync(bare, {})).rejects.toThrow('glm: solver "admmAsync" needs a problem with localProx');
    // lbfgs needs only loss and gradient; solve("auto") then picks it.
    const r = await solve(bare, { penalty: "l2", C: 10 });
    const ref = await newton(base, { penalty: "l2", C: 10 });
    expect(Math.abs(r.objective - ref.objective)).toBeLessThan(1e-8 * ref.objective);
  });
});

describe("behaviour", () => {
  const small = loadSmall();
  const logistic = small.find((p) => p.name === "logistic")!;
  const multinomial = small.find((p) => p.name === "multinomial")!;

  test("a warm start at the optimum stops at once", async () => {
    const o = logistic.oracles.find((r) => r.penalty === "l1" && r.fitIntercept)!;
    const problem = problemOf(logistic, true, 2);
    const first = await lbfgs(problem, { penalty: "l1", C: o.C, tol: 1e-9 });
    const again = await lbfgs(problem, { penalty: "l1", C: o.C, tol: 1e-9, x0: first.theta });
    expect(again.nIter).toBe(0);
    expect(again.nPasses).toBe(1);
    expect(Array.from(again.theta)).toEqual(Array.from(first.theta));
  });

  test("multinomial intercepts come back summing to zero, with or without a penalty", async () => {
    for (const penalty of ["none", "l2", "l1"] as const) {
      const o = multinomial.oracles.find((r) => r.penalty === penalty && r.fitIntercept)!;
      const r = await lbfgs(problemOf(multinomial, true, 1), { penalty, C: o.C, tol: 1e-8 });
      expect(Math.abs(r.intercept.reduce((a, b) => a + b, 0))).toBeLessThan(1e-12);
      expect(r.beta.length).toBe(multinomial.cols * 3);
    }
  });

  test("solve(auto) picks newton for smooth penalties and lbfgs for l1", async () => {
    const problem = problemOf(logistic, true, 1);
    const o2 = logistic.oracles.find((r) => r.penalty === "l2" && r.fitIntercept)!;
    const o1 = logistic.oracles.find((r) => r.penalty === "l1" && r.fitIntercept)!;
    const a = await solve(problem, { penalty: "l2", C: o2.C });
    const b = await newton(problem, { penalty: "l2", C: o2.C });
    expect(Array.from(a.theta)).toEqual(Array.from(b.theta));
    const c = await solve(problem, { penalty: "l1", C: o1.C });
    const d = await lbfgs(problem, { penalty: "l1", C: o1.C });
    expect(Array.from(c.theta)).toEqual(Array.from(d.theta));
  });

  test("zero-weight rows change nothing", async () => {
    const part: Partition = {
      X: { rows: logistic.rows, cols: logistic.cols, data: logistic.X },
      y: logistic.y,
      w: logistic.w,
    };
    const extraX = new Float64Array((logistic.rows + 5) * logistic.cols);
    extraX.set(logistic.X);
    extraX.fill(9, logistic.rows * logistic.cols);
    const extraY = new Float64Array(logistic.rows + 5);
    extraY.set(logistic.y);
    extraY.fill(1, logistic.rows);
    const extraW = new Float64Array(logistic.rows + 5);
    extraW.set(logistic.w);
    const a = await newton(new LocalProblem([part], { family: "logistic", fitIntercept: true }), { penalty: "l2", C: 0.05 });
    const b = await newton(
      new LocalProblem([{ X: { rows: logistic.rows + 5, cols: logistic.cols, data: extraX }, y: extraY, w: extraW }], {
        family: "logistic",
        fitIntercept: true,
      }),
      { penalty: "l2", C: 0.05 },
    );
    for (let j = 0; j < a.theta.length; j++) expect(Math.abs(a.theta[j] - b.theta[j])).toBeLessThan(1e-12);
  });

  test("the objective reported is F at the returned point", async () => {
    const o = logistic.oracles.find((r) => r.penalty === "elasticnet" && !r.fitIntercept)!;
    const problem = problemOf(logistic, false, 3);
    const r = await proximalGradient(problem, { penalty: "elasticnet", l1Ratio: o.l1Ratio, C: o.C });
    const obj = new GlmObjective(problem, { penalty: "elasticnet", l1Ratio: o.l1Ratio, C: o.C });
    const e = await obj.smooth(r.theta);
    expect(r.objective).toBeCloseTo(e.f + obj.nonSmooth(r.theta), 12);
  });
});

describe("fromSklearn", () => {
  test("conversions", () => {
    expect(fromSklearn({ model: "LogisticRegression", C: 0.5 }, 100)).toEqual({
      family: "logistic",
      penalty: "l2",
      C: 0.5,
      objectiveScale: 1,
    });
    expect(fromSklearn({ model: "LogisticRegression", C: 2, penalty: "elasticnet", l1Ratio: 0.3 }, 100)).toEqual({
      family: "logistic",
      penalty: "elasticnet",
      C: 2,
      l1Ratio: 0.3,
      objectiveScale: 1,
    });
    expect(fromSklearn({ model: "LinearRegression" }, 200)).toEqual({ family: "normal", penalty: "none", C: 1, objectiveScale: 0.005 });
    expect(fromSklearn({ model: "Ridge", alpha: 4 }, 200)).toEqual({ family: "normal", penalty: "l2", C: 0.25, objectiveScale: 8 });
    expect(fromSklearn({ model: "Lasso", alpha: 0.01 }, 10000)).toEqual({ family: "normal", penalty: "l1", C: 0.01, objectiveScale: 0.01 });
    expect(fromSklearn({ model: "ElasticNet", alpha: 0.5, l1Ratio: 0.2 }, 8)).toEqual({
      family: "normal",
      penalty: "elasticnet",
      C: 0.25,
      l1Ratio: 0.2,
      objectiveScale: 0.5,
    });
    expect(fromSklearn({ model: "PoissonRegressor", alpha: 0 }, 50)).toEqual({ family: "poisson", penalty: "none", C: 1, objectiveScale: 0.02 });
    expect(fromSklearn({ model: "PoissonRegressor", alpha: 0.1 }, 50)).toEqual({ family: "poisson", penalty: "l2", C: 0.2, objectiveScale: 0.1 });
    expect(() => fromSklearn({ model: "Lasso", alpha: 0 }, 10)).toThrow("glm: alpha must be a finite number > 0, got 0");
  });

  test("the small fixtures' C values are fromSklearn's (make.py mirrors it)", () => {
    for (const P of loadSmall()) {
      const sumW = P.w.reduce((a, b) => a + b, 0);
      for (const o of P.oracles) {
        const sk = o.sklearn;
        if (sk === undefined || o.penalty === "none") continue;
        const m =
          sk.model === "LogisticRegression"
            ? { model: "LogisticRegression" as const, C: sk.C, penalty: o.penalty, l1Ratio: o.l1Ratio }
            : sk.model === "ElasticNet"
              ? { model: "ElasticNet" as const, alpha: sk.alpha!, l1Ratio: sk.l1_ratio! }
              : { model: sk.model as "Ridge" | "Lasso" | "PoissonRegressor", alpha: sk.alpha! };
        expect(fromSklearn(m, sumW).C).toBeCloseTo(o.C, 14);
      }
    }
  });
});
