/**
 * Which solver handles which penalty. Solvers that need a differentiable objective
 * (gradientDescent, newton) take smooth penalties only; lbfgs switches to OWL-QN when an l1
 * term is present; proximalGradient, admm and admmAsync use the prox.
 */
import { GlmError, UnsupportedPenaltyError } from "./errors.js";
import type { PartitionedProblem, PenaltyName, SolverName } from "./types.js";

export const SOLVER_SUPPORT: Readonly<Record<SolverName, readonly PenaltyName[]>> = {
  lbfgs: ["none", "l2", "l1", "elasticnet"],
  newton: ["none", "l2"],
  proximalGradient: ["none", "l2", "l1", "elasticnet"],
  admm: ["none", "l2", "l1", "elasticnet"],
  admmAsync: ["none", "l2", "l1", "elasticnet"],
  gradientDescent: ["none", "l2"],
};

/** Order in which alternatives are suggested. */
const PREFERENCE: readonly SolverName[] = ["lbfgs", "newton", "proximalGradient", "admm", "admmAsync", "gradientDescent"];

export function supports(solver: SolverName, penalty: PenaltyName): boolean {
  return SOLVER_SUPPORT[solver].includes(penalty);
}

/** Throws UnsupportedPenaltyError (naming the solvers that would work) for unsupported pairs. */
export function checkSupport(solver: SolverName, penalty: PenaltyName): void {
  const table = SOLVER_SUPPORT[solver];
  if (table === undefined) {
    throw new GlmError(`glm: unknown solver "${String(solver)}" (expected ${PREFERENCE.join(", ")})`);
  }
  if (!table.includes(penalty)) {
    throw new UnsupportedPenaltyError(
      solver,
      penalty,
      PREFERENCE.filter((s) => supports(s, penalty)),
    );
  }
}

/** Throws when the problem lacks a method the solver needs. */
export function checkProblem(solver: SolverName, problem: PartitionedProblem): void {
  if (solver === "newton" && problem.lossGradHess === undefined) {
    throw new GlmError('glm: solver "newton" needs a problem with lossGradHess');
  }
  if ((solver === "admm" || solver === "admmAsync") && problem.localProx === undefined) {
    throw new GlmError(`glm: solver "${solver}" needs a problem with localProx`);
  }
}
