/**
 * ADMM's per-partition sub-problem, solved where the partition lives:
 *
 *   argmin_x  phi(x) = C * sum_i w_i loss_i(x) + rho/2 (x - v)^T M (x - v)     (M = I by default)
 *
 * by damped Newton from the warm start x0. The rho term makes phi strongly convex, so the d x d
 * system (C X~^T W X~ + rho M) is positive definite; with a warm start one or two steps usually
 * suffice. Each step is one Hessian pass; a rejected full step costs loss-only passes.
 */
import { lossGradHessInto, lossGradInto, partitionLoss } from "./kernels.js";
import { dampedSolve, dot, normInf } from "./linalg.js";
import type { KernelSpec, LocalProxArgs, Partition } from "./types.js";

export interface LocalProxResult {
  x: Float64Array;
  /** Newton steps taken. */
  iters: number;
  /** Passes over the partition. */
  passes: number;
}

interface Point {
  x: Float64Array;
  phi: number;
  g: Float64Array;
  /** Hessian of phi; computed only when another Newton step is needed. */
  H: Float64Array | null;
}

/** rho/2 (x - v)^T M (x - v); fills rm = rho M (x - v) when given. */
function proxTerm(args: LocalProxArgs, x: Float64Array, rm: Float64Array | null): number {
  const { rho, v, metric } = args;
  const d = x.length;
  let q = 0;
  if (metric === undefined) {
    for (let j = 0; j < d; j++) {
      const r = x[j] - v[j];
      q += r * r;
      if (rm !== null) rm[j] = rho * r;
    }
    return 0.5 * rho * q;
  }
  for (let a = 0; a < d; a++) {
    let s = 0;
    for (let b = 0; b < d; b++) s += metric[a * d + b] * (x[b] - v[b]);
    q += (x[a] - v[a]) * s;
    if (rm !== null) rm[a] = rho * s;
  }
  return 0.5 * rho * q;
}

/** phi and its gradient (and Hessian when withHess) at x: one pass over the partition. */
function evaluate(part: Partition, spec: KernelSpec, args: LocalProxArgs, x: Float64Array, withHess: boolean): Point {
  const d = x.length;
  const g = new Float64Array(d);
  const H = withHess ? new Float64Array(d * d) : null;
  const loss = H !== null ? lossGradHessInto(part, spec, x, g, H) : lossGradInto(part, spec, x, g);
  const { C, rho, metric } = args;
  const rm = new Float64Array(d);
  const prox = proxTerm(args, x, rm);
  for (let j = 0; j < d; j++) g[j] = C * g[j] + rm[j];
  if (H !== null) {
    for (let k = 0; k < d * d; k++) H[k] = C * H[k] + (metric !== undefined ? rho * metric[k] : 0);
    if (metric === undefined) for (let j = 0; j < d; j++) H[j * d + j] += rho;
  }
  return { x, phi: C * loss + prox, g, H };
}

function phiAt(part: Partition, spec: KernelSpec, args: LocalProxArgs, x: Float64Array): number {
  return args.C * partitionLoss(part, spec, x) + proxTerm(args, x, null);
}

/**
 * Solves the ADMM local problem on one partition (a plain function: runs as a task). Passes:
 * one with the Hessian per Newton step, plus one loss+gradient pass at each accepted point (the
 * convergence test; the Hessian there is computed only if another step follows).
 */
export function localProxSolve(part: Partition, spec: KernelSpec, args: LocalProxArgs): LocalProxResult {
  const d = args.v.length;
  let cur = evaluate(part, spec, args, Float64Array.from(args.x0), true);
  let passes = 1;
  let iters = 0;
  while (iters < args.maxIter && normInf(cur.g) > args.tol) {
    if (cur.H === null) {
      cur = evaluate(part, spec, args, cur.x, true);
      passes++;
    }
    const step = dampedSolve(cur.H!, d, cur.g); // x_new = x - t * step
    const slope = dot(cur.g, step); // > 0 for a descent step
    iters++;
    let t = 1;
    let next: Point | null = null;
    for (let ls = 0; ls < 40; ls++) {
      const xt = new Float64Array(d);
      for (let j = 0; j < d; j++) xt[j] = cur.x[j] - t * step[j];
      // The last allowed step needs only phi to be accepted (its gradient would serve only a
      // convergence test that cannot change the outcome): a loss-only pass.
      const last = iters >= args.maxIter;
      let trial: Point | null = null;
      let phi: number;
      if (t === 1 && !last) {
        trial = evaluate(part, spec, args, xt, false);
        phi = trial.phi;
      } else {
        phi = phiAt(part, spec, args, xt);
      }
      passes++;
      // Accept on sufficient decrease, or when the change is at rounding level (converged).
      if (phi <= cur.phi - 1e-4 * t * slope || (Math.abs(phi - cur.phi) <= 1e-15 * Math.abs(cur.phi) && Number.isFinite(phi))) {
        if (last) return { x: xt, iters, passes };
        if (trial === null) {
          trial = evaluate(part, spec, args, xt, false);
          passes++;
        }
        next = trial;
        break;
      }
      t *= 0.5;
    }
    if (next === null) break; // no decrease possible at rounding level: as good as it gets
    cur = next;
  }
  return { x: cur.x, iters, passes };
}
