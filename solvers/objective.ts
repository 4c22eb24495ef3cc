/**
 * GlmObjective: F(theta) = C * sum_i w_i loss_i(theta) + R(B) over a PartitionedProblem (see
 * ObjectiveOptions in types.ts for the convention). Solvers see it as a smooth part
 *   f(theta) = C * L(theta) + l2/2 ||B||^2
 * plus, when present, the non-smooth l1 * ||B||_1 handled by prox / orthant steps.
 */
import { GlmError } from "./errors.js";
import { nOutputs, thetaLength } from "./kernels.js";
import { normInf } from "./linalg.js";
import { Regularizer, makeRegularizer } from "./regularizers.js";
import { checkProblem, checkSupport } from "./support.js";
import type { PartitionedProblem, SolverName, SolverOptions, SolverResult } from "./types.js";

export interface SmoothEval {
  f: number;
  g: Float64Array;
}

export class GlmObjective {
  readonly reg: Regularizer;
  readonly C: number;
  /** Length of theta. */
  readonly d: number;
  /** Penalised leading entries of theta (p * K). */
  readonly nPen: number;
  readonly K: number;
  /** Gradients are divided by this in the optimality measure: max(C * sumWeights, 1). */
  readonly gradScale: number;
  /** Passes over the data requested through this objective. */
  passes = 0;
  private readonly scratch: Float64Array;

  constructor(
    readonly problem: PartitionedProblem,
    opts: SolverOptions,
    solver?: SolverName,
  ) {
    this.reg = makeRegularizer(opts);
    if (solver !== undefined) {
      checkSupport(solver, this.reg.name);
      checkProblem(solver, problem);
    }
    const C = opts.C ?? 1;
    if (!(C > 0 && C < Infinity)) throw new GlmError(`glm: C must be a finite number > 0, got ${C}`);
    this.C = C;
    this.K = nOutputs(problem.spec);
    this.d = thetaLength(problem.p, problem.spec);
    this.nPen = problem.p * this.K;
    this.gradScale = Math.max(C * problem.sumWeights, 1);
    this.scratch = new Float64Array(this.d);
    if (opts.x0 !== undefined && opts.x0.length !== this.d) {
      throw new GlmError(`glm: x0 has length ${opts.x0.length}, expected ${this.d}`);
    }
  }

  /** The starting point: a copy of x0, or zeros. */
  start(x0: Float64Array | undefined): Float64Array {
    return x0 !== undefined ? Float64Array.from(x0) : new Float64Array(this.d);
  }

  /** f and its gradient. */
  async smooth(theta: Float64Array): Promise<SmoothEval> {
    this.passes++;
    const { loss, grad } = await this.problem.lossGrad(theta);
    const C = this.C;
    for (let j = 0; j < grad.length; j++) grad[j] *= C;
    this.reg.addSmoothGradient(theta, this.nPen, grad);
    return { f: C * loss + this.reg.smoothValue(theta, this.nPen), g: grad };
  }

  /** The data term C * L alone and its gradient (for solvers that prox the whole penalty). */
  async data(theta: Float64Array): Promise<SmoothEval> {
    this.passes++;
    const { loss, grad } = await this.problem.lossGrad(theta);
    const C = this.C;
    for (let j = 0; j < grad.length; j++) grad[j] *= C;
    return { f: C * loss, g: grad };
  }

  async dataValue(theta: Float64Array): Promise<number> {
    this.passes++;
    return this.C * (await this.problem.loss(theta));
  }

  /** f only. */
  async smoothValue(theta: Float64Array): Promise<number> {
    this.passes++;
    return this.C * (await this.problem.loss(theta)) + this.reg.smoothValue(theta, this.nPen);
  }

  /** f, its gradient and Hessian (C X~^T W X~ + l2 on the penalised diagonal). */
  async smoothHess(theta: Float64Array): Promise<SmoothEval & { H: Float64Array }> {
    if (this.problem.lossGradHess === undefined) throw new GlmError("glm: this problem has no lossGradHess");
    this.passes++;
    const { loss, grad, hess } = await this.problem.lossGradHess(theta);
    const C = this.C;
    const d = this.d;
    for (let j = 0; j < d; j++) grad[j] *= C;
    for (let k = 0; k < d * d; k++) hess[k] *= C;
    this.reg.addSmoothGradient(theta, this.nPen, grad);
    const l2 = this.reg.l2;
    if (l2 !== 0) for (let j = 0; j < this.nPen; j++) hess[j * d + j] += l2;
    return { f: C * loss + this.reg.smoothValue(theta, this.nPen), g: grad, H: hess };
  }

  /** l1 * ||B||_1: the non-smooth part. */
  nonSmooth(theta: Float64Array): number {
    const l1 = this.reg.l1;
    if (l1 === 0) return 0;
    let a = 0;
    for (let j = 0; j < this.nPen; j++) a += Math.abs(theta[j]);
    return l1 * a;
  }

  /** max-norm of the minimum-norm subgradient of F at theta, over gradScale. */
  optimality(theta: Float64Array, gSmooth: Float64Array): number {
    return normInf(this.reg.minNormSubgradient(theta, gSmooth, this.nPen, this.scratch)) / this.gradScale;
  }

  /** optimality() from the data term's gradient (adds the l2 part first; gData is kept). */
  optimalityFromData(theta: Float64Array, gData: Float64Array): number {
    const g = Float64Array.from(gData);
    this.reg.addSmoothGradient(theta, this.nPen, g);
    return this.optimality(theta, g);
  }

  /**
   * Null directions of the Hessian that the objective is exactly flat along: multinomial
   * softmax is invariant to adding the same amount to every class's intercept, and (without a
   * penalty) to every class's coefficient of one feature. Each entry lists the theta indices of
   * one direction (all ones on those indices).
   */
  flatDirections(): number[][] {
    const K = this.K;
    if (K === 1) return [];
    const out: number[][] = [];
    const rows = this.problem.p + (this.problem.spec.fitIntercept ? 1 : 0);
    const first = this.reg.l1 === 0 && this.reg.l2 === 0 ? 0 : this.problem.p;
    for (let j = first; j < rows; j++) out.push(Array.from({ length: K }, (_, k) => j * K + k));
    return out;
  }

  /**
   * The result in user form. Multinomial parameters are put in the gauge where intercepts (and,
   * unpenalised, each feature's coefficients) sum to zero over classes: F does not change.
   */
  finish(theta: Float64Array, objective: number, nIter: number, converged: boolean): SolverResult {
    const th = Float64Array.from(theta);
    for (const dir of this.flatDirections()) {
      let m = 0;
      for (const i of dir) m += th[i];
      m /= dir.length;
      for (const i of dir) th[i] -= m;
    }
    const K = this.K;
    const intercept = new Float64Array(K);
    if (this.problem.spec.fitIntercept) intercept.set(th.subarray(this.nPen, this.nPen + K));
    return {
      beta: th.slice(0, this.nPen),
      intercept,
      theta: th,
      nIter,
      objective,
      converged,
      nPasses: this.passes,
    };
  }
}
