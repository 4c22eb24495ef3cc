/**
 * Penalties on the coefficients B (the first nPen entries of theta; intercepts are never
 * penalised). Every regularizer is
 *
 *   R(B) = l1 * ||B||_1 + l2/2 * ||B||_2^2
 *
 * with (l1, l2) = lambda * (0, 0) none, (1, 0) l1, (0, 1) l2, (l1Ratio, 1 - l1Ratio) elasticnet.
 * Its proximal operator, prox_{tR}(v) = argmin_x tR(x) + 1/2||x - v||^2, is separable; per
 * coordinate, 0 in t*l1*sign(x) + t*l2*x + x - v gives
 *
 *   prox(v) = S(v, t*l1) / (1 + t*l2),  S(v, a) = sign(v) * max(|v| - a, 0),
 *
 * i.e. soft-threshold then shrink (dask-glm's elastic-net prox returns v unchanged).
 */
import { GlmError } from "./errors.js";
import type { ObjectiveOptions, PenaltyName } from "./types.js";

export class Regularizer {
  constructor(
    readonly name: PenaltyName,
    /** Weight of ||B||_1. */
    readonly l1: number,
    /** Weight of 1/2 ||B||_2^2. */
    readonly l2: number,
  ) {}

  /** True when R is differentiable (no l1 part). */
  get smooth(): boolean {
    return this.l1 === 0;
  }

  value(theta: Float64Array, nPen: number): number {
    let a = 0;
    let q = 0;
    for (let j = 0; j < nPen; j++) {
      a += Math.abs(theta[j]);
      q += theta[j] * theta[j];
    }
    return this.l1 * a + 0.5 * this.l2 * q;
  }

  /** The differentiable part, l2/2 ||B||^2. */
  smoothValue(theta: Float64Array, nPen: number): number {
    if (this.l2 === 0) return 0;
    let q = 0;
    for (let j = 0; j < nPen; j++) q += theta[j] * theta[j];
    return 0.5 * this.l2 * q;
  }

  /** grad += gradient of the smooth part (l2 * B). */
  addSmoothGradient(theta: Float64Array, nPen: number, grad: Float64Array): void {
    const l2 = this.l2;
    if (l2 === 0) return;
    for (let j = 0; j < nPen; j++) grad[j] += l2 * theta[j];
  }

  /** grad += gradient of R; only for smooth regularizers. */
  addGradient(theta: Float64Array, nPen: number, grad: Float64Array): void {
    if (!this.smooth) throw new GlmError(`glm: penalty "${this.name}" has no gradient (it has an l1 part)`);
    this.addSmoothGradient(theta, nPen, grad);
  }

  /** out = prox_{tR}(v); entries from nPen on (intercepts) are copied. out may alias v. */
  prox(v: Float64Array, t: number, nPen: number, out: Float64Array): Float64Array {
    const a = t * this.l1;
    const shrink = 1 / (1 + t * this.l2);
    for (let j = 0; j < nPen; j++) {
      const x = v[j];
      out[j] = (x > a ? x - a : x < -a ? x + a : 0) * shrink;
    }
    for (let j = nPen; j < v.length; j++) out[j] = v[j];
    return out;
  }

  /**
   * out = the minimum-norm element of the subdifferential of (smooth part + R) at theta, given
   * gSmooth, the gradient of everything but the l1 term: OWL-QN's pseudo-gradient. Zero exactly
   * at an optimum, so its max-norm is the optimality measure of every solver.
   */
  minNormSubgradient(theta: Float64Array, gSmooth: Float64Array, nPen: number, out: Float64Array): Float64Array {
    const l1 = this.l1;
    for (let j = 0; j < gSmooth.length; j++) out[j] = gSmooth[j];
    if (l1 === 0) return out;
    for (let j = 0; j < nPen; j++) {
      const g = gSmooth[j];
      const x = theta[j];
      if (x > 0) out[j] = g + l1;
      else if (x < 0) out[j] = g - l1;
      else if (g + l1 < 0) out[j] = g + l1;
      else if (g - l1 > 0) out[j] = g - l1;
      else out[j] = 0;
    }
    return out;
  }
}

/** Builds the regularizer of ObjectiveOptions (penalty, l1Ratio, lambda), validating them. */
export function makeRegularizer(opts: ObjectiveOptions = {}): Regularizer {
  const penalty = opts.penalty ?? "none";
  const lambda = opts.lambda ?? 1;
  if (!(lambda >= 0 && lambda < Infinity)) throw new GlmError(`glm: lambda must be a finite number >= 0, got ${lambda}`);
  switch (penalty) {
    case "none":
      return new Regularizer("none", 0, 0);
    case "l1":
      return new Regularizer("l1", lambda, 0);
    case "l2":
      return new Regularizer("l2", 0, lambda);
    case "elasticnet": {
      const r = opts.l1Ratio ?? 0.5;
      if (!(r >= 0 && r <= 1)) throw new GlmError(`glm: l1Ratio must be in [0, 1], got ${r}`);
      return new Regularizer("elasticnet", lambda * r, lambda * (1 - r));
    }
    default: {
      const bad: never = penalty;
      throw new GlmError(`glm: unknown penalty "${String(bad)}" (expected none, l1, l2 or elasticnet)`);
    }
  }
}
