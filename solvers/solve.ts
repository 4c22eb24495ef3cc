/** One entry point over all solvers, with "auto" choosing by penalty and problem size. */
import { admm } from "./admm.js";
import { admmAsync } from "./admm-async.js";
import { GlmError } from "./errors.js";
import type { AdmmOptions } from "./admm.js";
import { gradientDescent } from "./gradient-descent.js";
import type { GradientDescentOptions } from "./gradient-descent.js";
import { thetaLength } from "./kernels.js";
import { lbfgs } from "./lbfgs.js";
import type { LbfgsOptions } from "./lbfgs.js";
import { newton } from "./newton.js";
import type { NewtonOptions } from "./newton.js";
import { proximalGradient } from "./proximal-gradient.js";
import type { ProximalGradientOptions } from "./proximal-gradient.js";
import type { PartitionedProblem, SolverName, SolverResult } from "./types.js";

export type SolveOptions = AdmmOptions &
  GradientDescentOptions &
  LbfgsOptions &
  NewtonOptions &
  ProximalGradientOptions & {
    /** Default "auto": newton for smooth penalties when d <= 400 and the problem has a Hessian, else lbfgs. */
    solver?: SolverName | "auto";
  };

export function chooseSolver(problem: PartitionedProblem, options: SolveOptions): SolverName {
  const penalty = options.penalty ?? "none";
  const smooth = penalty === "none" || penalty === "l2";
  const d = thetaLength(problem.p, problem.spec);
  return smooth && d <= 400 && problem.lossGradHess !== undefined ? "newton" : "lbfgs";
}

export async function solve(problem: PartitionedProblem, options: SolveOptions = {}): Promise<SolverResult> {
  const solver = options.solver === undefined || options.solver === "auto" ? chooseSolver(problem, options) : options.solver;
  switch (solver) {
    case "lbfgs":
      return lbfgs(problem, options);
    case "newton":
      return newton(problem, options);
    case "proximalGradient":
      return proximalGradient(problem, options);
    case "admm":
      return admm(problem, options);
    case "admmAsync":
      return admmAsync(problem, options);
    case "gradientDescent":
      return gradientDescent(problem, options);
    default: {
      const bad: never = solver;
      throw new GlmError(`glm: unknown solver "${String(bad)}" (expected lbfgs, newton, proximalGradient, admm, admmAsync or gradientDescent)`);
    }
  }
}
