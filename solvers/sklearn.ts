/**
 * scikit-learn's models in skein's objective convention (types.ts, ObjectiveOptions):
 *   F = C * sum_i w_i loss_i + R(B),  so that  sklearnObjective = objectiveScale * F
 * (up to terms constant in the coefficients; Poisson drops the y log y - y of the deviance).
 * With sample weights, scikit-learn's Lasso / ElasticNet / PoissonRegressor average over
 * sum(w) (their "n"); pass sumWeights = number of rows when there are no weights.
 *
 *   LogisticRegression(C, penalty, l1_ratio): C * sum logloss + R             -> C = C, scale 1
 *   LinearRegression:  1/(2n) sum r^2                                         -> C = 1, scale 1/n
 *   Ridge(alpha):      ||r||^2 + alpha ||b||^2                                -> C = 1/alpha, scale 2 alpha
 *   Lasso(alpha):      1/(2n) ||r||^2 + alpha ||b||_1                         -> C = 1/(n alpha), scale alpha
 *   ElasticNet(alpha, l1_ratio): 1/(2n)||r||^2 + alpha l1_ratio ||b||_1
 *                      + alpha (1 - l1_ratio)/2 ||b||^2                       -> C = 1/(n alpha), scale alpha
 *   PoissonRegressor(alpha): 1/n sum (e^eta - y eta) + alpha/2 ||b||^2        -> C = 1/(n alpha), scale alpha
 *                      (alpha = 0: penalty none, C = 1, scale 1/n)
 */
import { GlmError } from "./errors.js";
import type { FamilyName, PenaltyName } from "./types.js";

export type SklearnModel =
  | { model: "LogisticRegression"; C?: number; penalty?: PenaltyName; l1Ratio?: number }
  | { model: "LinearRegression" }
  | { model: "Ridge"; alpha: number }
  | { model: "Lasso"; alpha: number }
  | { model: "ElasticNet"; alpha: number; l1Ratio: number }
  | { model: "PoissonRegressor"; alpha: number };

export interface SkeinObjectiveParams {
  family: FamilyName;
  penalty: PenaltyName;
  C: number;
  l1Ratio?: number;
  /** scikit-learn's objective value = objectiveScale * skein's F. */
  objectiveScale: number;
}

function positive(name: string, v: number): number {
  if (!(v > 0 && v < Infinity)) throw new GlmError(`glm: ${name} must be a finite number > 0, got ${v}`);
  return v;
}

/** skein's (penalty, C, l1Ratio) for a scikit-learn model; sumWeights is n or sum(w). */
export function fromSklearn(m: SklearnModel, sumWeights: number): SkeinObjectiveParams {
  const n = positive("sumWeights", sumWeights);
  switch (m.model) {
    case "LogisticRegression": {
      const penalty = m.penalty ?? "l2";
      const out: SkeinObjectiveParams = {
        family: "logistic",
        penalty,
        C: penalty === "none" ? 1 : positive("C", m.C ?? 1),
        objectiveScale: 1,
      };
      if (penalty === "elasticnet") out.l1Ratio = m.l1Ratio ?? 0.5;
      return out;
    }
    case "LinearRegression":
      return { family: "normal", penalty: "none", C: 1, objectiveScale: 1 / n };
    case "Ridge": {
      const a = positive("alpha", m.alpha);
      return { family: "normal", penalty: "l2", C: 1 / a, objectiveScale: 2 * a };
    }
    case "Lasso": {
      const a = positive("alpha", m.alpha);
      return { family: "normal", penalty: "l1", C: 1 / (n * a), objectiveScale: a };
    }
    case "ElasticNet": {
      const a = positive("alpha", m.alpha);
      return { family: "normal", penalty: "elasticnet", C: 1 / (n * a), l1Ratio: m.l1Ratio, objectiveScale: a };
    }
    case "PoissonRegressor": {
      if (m.alpha === 0) return { family: "poisson", penalty: "none", C: 1, objectiveScale: 1 / n };
      const a = positive("alpha", m.alpha);
      return { family: "poisson", penalty: "l2", C: 1 / (n * a), objectiveScale: a };
    }
    default: {
      const bad: never = m;
      throw new GlmError(`glm: unknown scikit-learn model ${JSON.stringify(bad)}`);
    }
  }
}
