/**
 * The anchor oracles (shared/anchors/python/make_oracles_glm.py, compacted in
 * test/fixtures/glm/anchor.json): scikit-learn fits on the first 100,000 rows of the dask-glm
 * blog problem, a 10,000-row linear and a 10,000-row Poisson problem. Objectives compare through
 * fromSklearn's scale. The first-order solvers (gradientDescent, proximalGradient, admm) run the
 * 100k logistic problem for one row each (all rows with SKEIN_TEST_FULL=1).
 */
import { beforeAll, describe, expect, test } from "vitest";
import {
  GlmObjective,
  LocalProblem,
  admm,
  fromSklearn,
  gradientDescent,
  lbfgs,
  newton,
  proximalGradient,
  splitRows,
  supports,
} from "../solvers/index.js";
import type { SklearnModel, SolverName, SolverOptions, SolverResult } from "../solvers/index.js";
import type { PartitionedProblem } from "../solvers/types.js";
import { anchorOracles, loadAnchor } from "./fixtures/glm/load.js";
import type { AnchorOracle, AnchorProblem } from "./fixtures/glm/load.js";

const FULL = process.env.SKEIN_TEST_FULL === "1";

type Solve = (p: PartitionedProblem, o: SolverOptions) => Promise<SolverResult>;
const SOLVERS: [SolverName, Solve, SolverOptions & Record<string, unknown>][] = [
  ["lbfgs", lbfgs, { tol: 1e-9 }],
  ["newton", newton, { tol: 1e-9 }],
  ["gradientDescent", gradientDescent, { tol: 1e-9 }],
  ["proximalGradient", proximalGradient, { tol: 1e-9 }],
  ["admm", admm, { absTol: 1e-7, relTol: 1e-6 }],
];

function sklearnModel(o: AnchorOracle): SklearnModel {
  const penalty = /penalty=(\w+)/.exec(o.params)?.[1];
  if (o.model === "sklearn LogisticRegression") {
    return { model: "LogisticRegression", C: 1, penalty: penalty as "l1" | "l2" | "none" };
  }
  if (o.model === "sklearn LinearRegression") return { model: "LinearRegression" };
  if (o.model === "sklearn Lasso") return { model: "Lasso", alpha: 0.01 };
  if (o.model === "sklearn PoissonRegressor") return { model: "PoissonRegressor", alpha: 0 };
  throw new Error(`unexpected anchor row ${o.model}`);
}

const NAMES = ["logistic_sample_100k", "linear_10k", "poisson_10k"] as const;

for (const name of NAMES) {
  describe(`anchor ${name}`, () => {
    let A: AnchorProblem;
    beforeAll(() => {
      A = loadAnchor(name);
    });
    const rows = anchorOracles(name);

    test("fromSklearn's scale reproduces the anchor's objective at the anchor's coefficients", async () => {
      for (const o of rows) {
        const conv = fromSklearn(sklearnModel(o), A.rows);
        const fi = o.params.includes("fit_intercept=True");
        const problem = new LocalProblem(splitRows({ rows: A.rows, cols: A.cols, data: A.X }, A.y, undefined, 3), {
          family: conv.family,
          fitIntercept: fi,
        });
        const obj = new GlmObjective(problem, { penalty: conv.penalty, C: conv.C });
        const theta = Float64Array.from(fi ? [...o.coef, o.intercept] : o.coef);
        const e = await obj.smooth(theta);
        const F = e.f + obj.nonSmooth(theta);
        expect(Math.abs(F * conv.objectiveScale - o.objective)).toBeLessThan(1e-11 * Math.abs(o.objective));
      }
    });

    for (const o of rows) {
      const fi = o.params.includes("fit_intercept=True");
      for (const [solver, fn, extra] of SOLVERS) {
        const conv = fromSklearn(sklearnModel(o), name === "logistic_sample_100k" ? 100_000 : 10_000);
        if (!supports(solver, conv.penalty)) continue;
        // First-order solvers on the 100k problem: one row each unless SKEIN_TEST_FULL=1.
        const slow = solver === "proximalGradient" || solver === "admm" || solver === "gradientDescent";
        const headline =
          solver === "gradientDescent"
            ? o.params.startsWith("penalty=l2 solver=lbfgs") && !fi
            : o.params.startsWith("penalty=l1 solver=saga") && !fi;
        if (name === "logistic_sample_100k" && slow && !headline && !FULL) continue;
        test(`${solver}: ${o.model} ${o.params}`, async () => {
          const problem = new LocalProblem(splitRows({ rows: A.rows, cols: A.cols, data: A.X }, A.y, undefined, 4), {
            family: conv.family,
            fitIntercept: fi,
          });
          const r = await fn(problem, { penalty: conv.penalty, C: conv.C, ...extra });
          const objective = r.objective * conv.objectiveScale;
          expect((objective - o.objective) / Math.abs(o.objective)).toBeLessThan(1e-6);
          let gap = fi ? Math.abs(r.intercept[0] - o.intercept) : r.intercept[0];
          for (let j = 0; j < o.coef.length; j++) gap = Math.max(gap, Math.abs(r.beta[j] - o.coef[j]));
          expect(gap).toBeLessThan(1e-4);
        });
      }
    }
  });
}
