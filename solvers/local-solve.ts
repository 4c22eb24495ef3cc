/**
 * ADMM's per-partition sub-problem, solved where the partition lives:
 *
 *   argmin_x  phi(x) = C * sum_i w_i loss_i(x) + rho/2 ||x - v||^2
 *
 * by damped Newton from the warm start x0. The rho term makes phi strongly convex, so the d x d
 * system (C X~^T W X~ + rho I) is positive definite; with a warm start one or two steps usually
 * suffice. Each step is one Hessian pass; a rejected full step costs loss-only passes.
 */
import { lossGradHessInto, partitionLoss } from "./kernels.js";
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
  H: Float64Array;
}

function evaluate(part: Partition, spec: KernelSpec, args: LocalProxArgs, x: Float64Array): Point {
  const d = x.length;
  const g = new Float64Array(d);
  const H = new Float64Array(d * d);
  const loss = lossGradHessInto(part, spec, x, g, H);
  const { C, rho, v } = args;
  let q = 0;
  for (let j = 0; j < d; j++) {
    const r = x[j] - v[j];
    q += r * r;
    g[j] = C * g[j] + rho * r;
  }
  for (let k = 0; k < d * d; k++) H[k] *= C;
  for (let j = 0; j < d; j++) H[j * d + j] += rho;
  return { x, phi: C * loss + 0.5 * rho * q, g, H };
}

function phiAt(part: Partition, spec: KernelSpec, args: LocalProxArgs, x: Float64Array): number {
  let q = 0;
  for (let j = 0; j < x.length; j++) {
    const r = x[j] - args.v[j];
    q += r * r;
  }
  return args.C * partitionLoss(part, spec, x) + 0.5 * args.rho * q;
}

/** Solves the ADMM local problem on one partition (a plain function: runs as a task). */
export function localProxSolve(part: Partition, spec: KernelSpec, args: LocalProxArgs): LocalProxResult {
  const d = args.v.length;
  let cur = evaluate(part, spec, args, Float64Array.from(args.x0));
  let passes = 1;
  let iters = 0;
  while (iters < args.maxIter && normInf(cur.g) > args.tol) {
    const step = dampedSolve(cur.H, d, cur.g); // x_new = x - t * step
    const slope = dot(cur.g, step); // > 0 for a descent step
    iters++;
    let t = 1;
    let next: Point | null = null;
    for (let ls = 0; ls < 40; ls++) {
      const xt = new Float64Array(d);
      for (let j = 0; j < d; j++) xt[j] = cur.x[j] - t * step[j];
      const phi = t === 1 ? (next = evaluate(part, spec, args, xt)).phi : phiAt(part, spec, args, xt);
      passes++;
      // Accept on sufficient decrease, or when the change is at rounding level (converged).
      if (phi <= cur.phi - 1e-4 * t * slope || Math.abs(phi - cur.phi) <= 1e-15 * Math.abs(cur.phi)) {
        if (t !== 1) {
          next = evaluate(part, spec, args, xt);
          passes++;
        }
        break;
      }
      next = null;
      t *= 0.5;
    }
    if (next === null) break; // no decrease possible at rounding level: as good as it gets
    cur = next;
  }
  return { x: cur.x, iters, passes };
}
