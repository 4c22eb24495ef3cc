/**
 * Newton's method (IRLS for GLMs): each iteration is one pass computing loss, gradient and
 * Hessian C X~^T W X~ (+ l2 on the penalised diagonal), summed over partitions; the d x d system
 * is solved with ml-matrix's Cholesky (Levenberg damping if it is not positive definite), then a
 * backtracking Armijo line search. The full step is tried with a full pass so that, when it is
 * accepted (nearly always), the next iteration's Hessian comes with it. Smooth penalties only.
 */
import { dampedSolve, dot } from "./linalg.js";
import { GlmObjective } from "./objective.js";
import type { PartitionedProblem, SolverOptions, SolverResult } from "./types.js";

export async function newton(problem: PartitionedProblem, options: SolverOptions = {}): Promise<SolverResult> {
  const obj = new GlmObjective(problem, options, "newton");
  const tol = options.tol ?? 1e-6;
  const maxIter = options.maxIter ?? 100;
  const d = obj.d;
  const flatDirs = obj.flatDirections();

  let cur = await obj.smoothHess(obj.start(options.x0));
  let x = obj.start(options.x0);
  let converged = false;
  let iter = 0;
  for (; iter < maxIter; iter++) {
    if (obj.optimality(x, cur.g) <= tol) {
      converged = true;
      break;
    }
    const H = cur.H;
    // Multinomial: the objective is flat along flatDirs; adding s * v v^T (v = ones on those
    // indices) makes H definite without changing the step on the complement (g is orthogonal
    // to v), so the step never moves along a direction that changes nothing.
    if (flatDirs.length > 0) {
      let s = 0;
      for (let j = 0; j < d; j++) s += H[j * d + j];
      s = s / d || 1;
      for (const dir of flatDirs) for (const a of dir) for (const b of dir) H[a * d + b] += s;
    }
    const step = dampedSolve(H, d, cur.g); // x_new = x - t * step
    const slope = dot(cur.g, step);
    let t = 1;
    let next: (typeof cur & { x: Float64Array }) | null = null;
    for (let ls = 0; ls < 50; ls++) {
      const xt = new Float64Array(d);
      for (let j = 0; j < d; j++) xt[j] = x[j] - t * step[j];
      let f: number;
      let full: typeof cur | null = null;
      if (t === 1) {
        full = await obj.smoothHess(xt);
        f = full.f;
      } else {
        f = await obj.smoothValue(xt);
      }
      if (f <= cur.f - 1e-4 * t * slope || (Math.abs(f - cur.f) <= 1e-15 * Math.abs(cur.f) && Number.isFinite(f))) {
        next = { ...(full ?? (await obj.smoothHess(xt))), x: xt };
        break;
      }
      t *= 0.5;
    }
    if (next === null) break; // no decrease at rounding level: done
    x = next.x;
    cur = next;
    options.callback?.(iter + 1, cur.f);
  }
  if (!converged) converged = obj.optimality(x, cur.g) <= tol;
  return obj.finish(x, cur.f, iter, converged);
}
