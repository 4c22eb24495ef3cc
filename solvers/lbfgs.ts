/**
 * L-BFGS, and OWL-QN (Andrew & Gao, 2007) when the penalty has an l1 part.
 *
 * Smooth case: two-loop recursion, weak-Wolfe line search by bracketing (Lewis & Overton), so
 * every accepted pair has s^T y > 0. l1 case: the direction is computed from the
 * pseudo-gradient (minimum-norm subgradient), its coordinates that disagree in sign with the
 * steepest descent are zeroed, and trial points are projected onto the orthant chosen at the
 * start of the step (backtracking Armijo on F). Curvature pairs use the smooth part's gradient.
 * One pass over the data per trial point (loss and gradient together).
 */
import { dot, normInf } from "./linalg.js";
import { GlmObjective } from "./objective.js";
import type { PartitionedProblem, SolverOptions, SolverResult } from "./types.js";

export interface LbfgsOptions extends SolverOptions {
  /** Curvature pairs kept; default 10. */
  memory?: number;
}

/** Two-loop recursion: out = -H g from the stored pairs (gamma * I when empty). */
function direction(
  g: Float64Array,
  S: Float64Array[],
  Y: Float64Array[],
  rhos: number[],
  out: Float64Array,
  alphas: Float64Array,
): void {
  const d = g.length;
  for (let j = 0; j < d; j++) out[j] = -g[j];
  const m = S.length;
  for (let i = m - 1; i >= 0; i--) {
    const a = rhos[i] * dot(S[i], out);
    alphas[i] = a;
    const y = Y[i];
    for (let j = 0; j < d; j++) out[j] -= a * y[j];
  }
  if (m > 0) {
    const gamma = dot(S[m - 1], Y[m - 1]) / dot(Y[m - 1], Y[m - 1]);
    for (let j = 0; j < d; j++) out[j] *= gamma;
  }
  for (let i = 0; i < m; i++) {
    const b = rhos[i] * dot(Y[i], out);
    const s = S[i];
    const c = alphas[i] - b;
    for (let j = 0; j < d; j++) out[j] += c * s[j];
  }
}

interface Trial {
  x: Float64Array;
  f: number;
  g: Float64Array;
  F: number;
}

/** Accepts a change at rounding level as "no increase" (Armijo cannot hold there). */
function flat(Ft: number, F: number): boolean {
  return Math.abs(Ft - F) <= 1e-15 * Math.abs(F);
}

/**
 * Weak-Wolfe line search by bracketing: double t while the curvature condition fails, bisect
 * once a step violates sufficient decrease. Returns the last point with sufficient decrease.
 */
async function wolfeSearch(
  obj: GlmObjective,
  x: Float64Array,
  F: number,
  slope: number,
  dir: Float64Array,
  t0: number,
): Promise<Trial | null> {
  const d = x.length;
  let t = t0;
  let lo = 0;
  let hi = Infinity;
  let best: Trial | null = null;
  for (let ls = 0; ls < 50; ls++) {
    const xt = new Float64Array(d);
    for (let j = 0; j < d; j++) xt[j] = x[j] + t * dir[j];
    const e = await obj.smooth(xt);
    const Ft = e.f + obj.nonSmooth(xt);
    if (Ft <= F + 1e-4 * t * slope || (flat(Ft, F) && Number.isFinite(Ft))) {
      best = { x: xt, f: e.f, g: e.g, F: Ft };
      if (dot(e.g, dir) >= 0.9 * slope) return best; // curvature holds: done
      lo = t;
    } else {
      hi = t;
    }
    if (hi === Infinity) {
      if (ls >= 10) return best; // ten doublings: long enough
      t *= 2;
    } else {
      if (best !== null && hi - lo < 1e-3 * hi) return best;
      t = 0.5 * (lo + hi);
    }
  }
  return best;
}

/** OWL-QN: backtracking Armijo on F along dir, projected onto the orthant of x (or of -pg). */
async function orthantSearch(
  obj: GlmObjective,
  x: Float64Array,
  F: number,
  pg: Float64Array,
  dir: Float64Array,
  t0: number,
): Promise<Trial | null> {
  const d = x.length;
  const nPen = obj.nPen;
  let t = t0;
  for (let ls = 0; ls < 60; ls++) {
    const xt = new Float64Array(d);
    for (let j = 0; j < d; j++) xt[j] = x[j] + t * dir[j];
    for (let j = 0; j < nPen; j++) {
      const o = x[j] !== 0 ? x[j] : -pg[j];
      if (xt[j] * o <= 0) xt[j] = 0;
    }
    const e = await obj.smooth(xt);
    const Ft = e.f + obj.nonSmooth(xt);
    let dec = 0;
    for (let j = 0; j < d; j++) dec += pg[j] * (xt[j] - x[j]);
    if (Ft <= F + 1e-4 * dec || (flat(Ft, F) && Number.isFinite(Ft))) return { x: xt, f: e.f, g: e.g, F: Ft };
    t *= 0.5;
  }
  return null;
}

export async function lbfgs(problem: PartitionedProblem, options: LbfgsOptions = {}): Promise<SolverResult> {
  const obj = new GlmObjective(problem, options, "lbfgs");
  const tol = options.tol ?? 1e-6;
  const maxIter = options.maxIter ?? 1000;
  const memory = options.memory ?? 10;
  const d = obj.d;
  const nPen = obj.nPen;
  const owl = obj.reg.l1 > 0;

  let x = obj.start(options.x0);
  let { f: F, g } = await obj.smooth(x);
  F += obj.nonSmooth(x);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rhos: number[] = [];
  const pg = new Float64Array(d);
  const dir = new Float64Array(d);
  const alphas = new Float64Array(memory);
  let converged = false;
  let iter = 0;
  let stalls = 0;

  for (; iter < maxIter; iter++) {
    obj.reg.minNormSubgradient(x, g, nPen, pg);
    if (normInf(pg) / obj.gradScale <= tol) {
      converged = true;
      break;
    }
    direction(pg, S, Y, rhos, dir, alphas);
    if (owl) {
      // A coordinate at zero may only leave zero against the pseudo-gradient (else it would
      // enter an orthant where F's slope is not pg). Andrew & Gao constrain every coordinate
      // this way; coordinates away from zero are left free here: F is differentiable in them,
      // the orthant projection of the line search stops them at zero, and zeroing their
      // quasi-Newton components turned convergence linear on correlated features.
      for (let j = 0; j < nPen; j++) if (x[j] === 0 && dir[j] * pg[j] >= 0) dir[j] = 0;
    }
    let slope = dot(pg, dir);
    if (!(slope < 0)) {
      // Memory gave no descent direction (rounding at the end of a run): restart from -pg.
      S.length = Y.length = rhos.length = 0;
      for (let j = 0; j < d; j++) dir[j] = -pg[j];
      slope = dot(pg, dir);
    }
    // First iteration: a step of unit length; later the quasi-Newton step 1.
    const t = S.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;

    const accepted = owl ? await orthantSearch(obj, x, F, pg, dir, t) : await wolfeSearch(obj, x, F, slope, dir, t);
    if (accepted === null) break; // no further decrease at this precision
    const xt = accepted.x;
    const s = new Float64Array(d);
    const yv = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      s[j] = xt[j] - x[j];
      yv[j] = accepted.g[j] - g[j];
    }
    const sy = dot(s, yv);
    if (sy > 1e-12 * dot(yv, yv)) {
      if (S.length === memory) {
        S.shift();
        Y.shift();
        rhos.shift();
      }
      S.push(s);
      Y.push(yv);
      rhos.push(1 / sy);
    }
    const decrease = F - accepted.F;
    x = xt;
    g = accepted.g;
    F = accepted.F;
    options.callback?.(iter + 1, F);
    // Objective flat at rounding level for several steps: nothing left to gain.
    stalls = decrease <= 1e-15 * Math.abs(F) ? stalls + 1 : 0;
    if (stalls >= 5) break;
  }
  if (!converged) converged = obj.optimality(x, g) <= tol;
  return obj.finish(x, F, iter, converged);
}
