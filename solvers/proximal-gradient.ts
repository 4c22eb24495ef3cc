/**
 * Proximal gradient: FISTA (Beck & Teboulle, 2009) with backtracking on the Lipschitz estimate L
 * and adaptive restart (O'Donoghue & Candes, 2015: momentum is reset when it points uphill),
 * for any penalty with a prox: the smooth part is the data term C * L alone and the whole
 * penalty (l2 part included) goes through its prox. Each iteration takes one loss+gradient pass at the extrapolated
 * point and one loss pass per trial of the backtracking; L is allowed to shrink by `shrink`
 * per iteration so that one bad early estimate does not fix the step for the whole run.
 *
 * Stopping: when the gradient mapping at the extrapolated point is small, the optimality
 * measure (minimum-norm subgradient, the same as every solver's) is computed at the new
 * iterate, at the price of one gradient pass.
 */
import { normInf } from "./linalg.js";
import { GlmObjective } from "./objective.js";
import type { PartitionedProblem, SolverOptions, SolverResult } from "./types.js";

export interface ProximalGradientOptions extends SolverOptions {
  /** Initial Lipschitz estimate; default from the first gradient. */
  L0?: number;
  /** Factor applied to L after each accepted step (<= 1); default 0.9. 1 is classic FISTA. */
  shrink?: number;
  /** Adaptive restart; default true. */
  restart?: boolean;
}

export async function proximalGradient(
  problem: PartitionedProblem,
  options: ProximalGradientOptions = {},
): Promise<SolverResult> {
  const obj = new GlmObjective(problem, options, "proximalGradient");
  const tol = options.tol ?? 1e-6;
  const maxIter = options.maxIter ?? 10000;
  const shrink = options.shrink ?? 0.98;
  const restart = options.restart ?? true;
  const d = obj.d;
  const nPen = obj.nPen;
  const reg = obj.reg;

  let x = obj.start(options.x0);
  let yPt = Float64Array.from(x);
  let { f: fy, g: gy } = await obj.data(yPt);
  let L = options.L0 ?? Math.max(normInf(gy), 1e-12);
  let tk = 1;
  let F = fy + reg.value(x, nPen);
  let converged = false;
  let iter = 0;
  const v = new Float64Array(d);
  let stalls = 0;
  for (; iter < maxIter; iter++) {
    // Backtracking: smallest L (from the current estimate up) with the quadratic upper bound.
    let xn = new Float64Array(d);
    let fn = 0;
    for (let ls = 0; ls < 100; ls++) {
      for (let j = 0; j < d; j++) v[j] = yPt[j] - gy[j] / L;
      reg.prox(v, 1 / L, nPen, xn);
      fn = await obj.dataValue(xn);
      let lin = 0;
      let sq = 0;
      for (let j = 0; j < d; j++) {
        const dj = xn[j] - yPt[j];
        lin += gy[j] * dj;
        sq += dj * dj;
      }
      const bound = fy + lin + 0.5 * L * sq;
      if (fn <= bound + 1e-14 * Math.abs(fy)) break;
      L *= 2;
      xn = new Float64Array(d);
    }
    const Fn = fn + reg.value(xn, nPen);
    // Gradient mapping at y: L (y - x+), zero exactly at a fixed point.
    let gm = 0;
    for (let j = 0; j < d; j++) gm = Math.max(gm, Math.abs(yPt[j] - xn[j]));
    gm *= L / obj.gradScale;

    // Momentum; restart when the step and the momentum disagree or F went up.
    let up = 0;
    for (let j = 0; j < d; j++) up += (yPt[j] - xn[j]) * (xn[j] - x[j]);
    const tn = (1 + Math.sqrt(1 + 4 * tk * tk)) / 2;
    let beta = (tk - 1) / tn;
    tk = tn;
    if (restart && (up > 0 || Fn > F)) {
      beta = 0;
      tk = 1;
    }
    const y = new Float64Array(d);
    for (let j = 0; j < d; j++) y[j] = xn[j] + beta * (xn[j] - x[j]);
    stalls = Math.abs(F - Fn) <= 1e-15 * Math.abs(F) ? stalls + 1 : 0;
    x = xn;
    F = Fn;
    options.callback?.(iter + 1, F);
    if (gm <= tol || stalls >= 20) {
      const e = await obj.data(x);
      const opt = obj.optimalityFromData(x, e.g);
      if (opt <= tol || stalls >= 20) {
        converged = opt <= tol;
        F = e.f + reg.value(x, nPen);
        iter++;
        break;
      }
    }
    yPt = y;
    ({ f: fy, g: gy } = await obj.data(yPt));
    L *= shrink;
  }
  return obj.finish(x, F, iter, converged);
}
