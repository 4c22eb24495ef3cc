/**
 * Gradient descent with a line search: steps along -grad F with Barzilai-Borwein initial step
 * lengths, accepted by a non-monotone Armijo test (Grippo-Lampariello-Lucidi: decrease relative
 * to the worst of the last `memory` objective values), backtracking by halving. Plain
 * monotone backtracking from the previous step is `stepRule: "backtracking"`. Smooth penalties
 * only. One pass (loss and gradient) per trial point.
 */
import { dot, normInf } from "./linalg.js";
import { GlmObjective } from "./objective.js";
import type { PartitionedProblem, SolverOptions, SolverResult } from "./types.js";

export interface GradientDescentOptions extends SolverOptions {
  /** "bb" (default): Barzilai-Borwein steps, non-monotone test; "backtracking": monotone. */
  stepRule?: "bb" | "backtracking";
  /** Objective values the non-monotone test looks back over; default 10. */
  memory?: number;
}

export async function gradientDescent(
  problem: PartitionedProblem,
  options: GradientDescentOptions = {},
): Promise<SolverResult> {
  const obj = new GlmObjective(problem, options, "gradientDescent");
  const tol = options.tol ?? 1e-6;
  const maxIter = options.maxIter ?? 10000;
  const bb = (options.stepRule ?? "bb") === "bb";
  const memory = bb ? (options.memory ?? 10) : 1;
  const d = obj.d;

  let x = obj.start(options.x0);
  let { f, g } = await obj.smooth(x);
  const history: number[] = [f];
  let step = 1 / Math.max(normInf(g), 1e-300);
  let converged = false;
  let iter = 0;
  let stalls = 0;
  for (; iter < maxIter; iter++) {
    if (normInf(g) / obj.gradScale <= tol) {
      converged = true;
      break;
    }
    const gg = dot(g, g);
    const ref = Math.max(...history);
    let t = step;
    let accepted: { x: Float64Array; f: number; g: Float64Array } | null = null;
    for (let ls = 0; ls < 60; ls++) {
      const xt = new Float64Array(d);
      for (let j = 0; j < d; j++) xt[j] = x[j] - t * g[j];
      const e = await obj.smooth(xt);
      if (e.f <= ref - 1e-4 * t * gg || (Math.abs(e.f - f) <= 1e-15 * Math.abs(f) && Number.isFinite(e.f))) {
        accepted = { x: xt, f: e.f, g: e.g };
        break;
      }
      t *= 0.5;
    }
    if (accepted === null) break;
    let sy = 0;
    let ss = 0;
    for (let j = 0; j < d; j++) {
      const s = accepted.x[j] - x[j];
      const y = accepted.g[j] - g[j];
      sy += s * y;
      ss += s * s;
    }
    // BB1 step s's/s'y; monotone rule: start the next search a little beyond the last step.
    step = bb && sy > 0 ? ss / sy : 2 * t;
    stalls = f - accepted.f <= 1e-15 * Math.abs(f) ? stalls + 1 : 0;
    x = accepted.x;
    f = accepted.f;
    g = accepted.g;
    history.push(f);
    if (history.length > memory) history.shift();
    options.callback?.(iter + 1, f);
    if (stalls >= 5) break;
  }
  if (!converged) converged = obj.optimality(x, g) <= tol;
  return obj.finish(x, f, iter, converged);
}
