/**
 * The state of consensus ADMM: per-partition x_i, u_i, xh_i, the consensus z, the metric M and
 * rho, and the steps a driver takes (local-solve arguments, z-update, residuals, rho balancing,
 * metric refresh). admm.ts drives it synchronously; an asynchronous driver (z-updates as local
 * solves complete) would reuse it. See admm.ts for the method.
 */
import { GlmError } from "./errors.js";
import { dampedSolve } from "./linalg.js";
import { GlmObjective } from "./objective.js";
import type { Regularizer } from "./regularizers.js";
import type { LocalProxArgs, PartitionedProblem, SolverOptions, SolverResult } from "./types.js";

export interface AdmmOptions extends SolverOptions {
  /** "hessian" (default when the problem has lossGradHess) or "identity"; see above. */
  metric?: "hessian" | "identity";
  /** Initial rho; default 1 with the hessian metric, 0.1 * C * sumWeights / (N d) with identity. */
  rho?: number;
  /** Over-relaxation alpha in (0, 2); default 1.5. */
  alpha?: number;
  /** Absolute and relative residual tolerances; defaults 1e-6 and 1e-5. */
  absTol?: number;
  relTol?: number;
  /** Residual balancing; default true. */
  adaptiveRho?: boolean;
  /**
   * Newton steps per local solve; default 1 (inexact ADMM: from the warm start one damped
   * Newton step is close to the local optimum, and the outer iteration count does not change
   * with more on the problems measured). Raise it for exact local solves.
   */
  localMaxIter?: number;
  /** Iterations at which the hessian metric is recomputed at the current z; default [3, 10, 30]. */
  metricRefresh?: readonly number[];
  /**
   * Run the asynchronous variant (admm-async.ts: z-updates as local solves complete, so a slow
   * partition stalls only itself); the same as solver "admmAsync". Default false.
   */
  asynchronous?: boolean;
}

/** out = M v for a d x d row-major M, or v itself when M is null. */
export function mul(M: Float64Array | null, v: Float64Array, out: Float64Array): Float64Array {
  const d = v.length;
  if (M === null) {
    out.set(v);
    return out;
  }
  for (let a = 0; a < d; a++) {
    let s = 0;
    for (let b = 0; b < d; b++) s += M[a * d + b] * v[b];
    out[a] = s;
  }
  return out;
}

/**
 * argmin_z l1 ||z_B||_1 + l2/2 ||z_B||^2 + 1/2 z^T Q z - b^T z with Q = scale * M (SPD), b =
 * Q avg: the z-update in the M metric (B = the first nPen entries, U = the intercepts). Smooth R:
 * one linear solve. With l1: the unpenalised block is eliminated exactly (Schur complement, so
 * a near-flat direction among the intercepts, e.g. the multinomial gauge, does not slow the
 * iteration), then lassoQP on the penalised block from the previous z.
 */
export function metricProx(
  M: Float64Array,
  scale: number,
  avg: Float64Array,
  reg: Regularizer,
  nPen: number,
  zPrev: Float64Array,
): Float64Array {
  const d = avg.length;
  const Q = new Float64Array(d * d);
  for (let k = 0; k < d * d; k++) Q[k] = scale * M[k];
  const b = mul(Q, avg, new Float64Array(d));
  for (let j = 0; j < nPen; j++) Q[j * d + j] += reg.l2;
  if (reg.l1 === 0) return dampedSolve(Q, d, b);
  const nU = d - nPen;
  // S = Q_BB - Q_BU Q_UU^-1 Q_UB,  c = b_B - Q_BU Q_UU^-1 b_U;  G = Q_UU^-1 [Q_UB | b_U].
  const S = new Float64Array(nPen * nPen);
  const c = new Float64Array(nPen);
  for (let a = 0; a < nPen; a++) {
    c[a] = b[a];
    for (let e = 0; e < nPen; e++) S[a * nPen + e] = Q[a * d + e];
  }
  const G: Float64Array[] = [];
  let gb: Float64Array = new Float64Array(0);
  if (nU > 0) {
    const QUU = new Float64Array(nU * nU);
    for (let a = 0; a < nU; a++) for (let e = 0; e < nU; e++) QUU[a * nU + e] = Q[(nPen + a) * d + nPen + e];
    // One solve per penalised column of Q_UB, and one for b_U.
    for (let e = 0; e < nPen; e++) {
      const col = new Float64Array(nU);
      for (let a = 0; a < nU; a++) col[a] = Q[(nPen + a) * d + e];
      G.push(dampedSolve(QUU, nU, col));
    }
    gb = dampedSolve(QUU, nU, b.subarray(nPen));
    for (let a = 0; a < nPen; a++) {
      for (let u = 0; u < nU; u++) {
        const qau = Q[a * d + nPen + u];
        if (qau === 0) continue;
        for (let e = 0; e < nPen; e++) S[a * nPen + e] -= qau * G[e][u];
        c[a] -= qau * gb[u];
      }
    }
  }
  // Exactly symmetric again (the Schur update leaves rounding asymmetry; Cholesky checks).
  for (let a = 0; a < nPen; a++) {
    for (let e = a + 1; e < nPen; e++) {
      const v = 0.5 * (S[a * nPen + e] + S[e * nPen + a]);
      S[a * nPen + e] = v;
      S[e * nPen + a] = v;
    }
  }
  const zB = lassoQP(S, c, reg.l1, nPen, Float64Array.from(zPrev.subarray(0, nPen)));
  const z = new Float64Array(d);
  z.set(zB);
  // z_U = Q_UU^-1 (b_U - Q_UB z_B) = gb - sum_e G_e z_e.
  for (let u = 0; u < nU; u++) {
    let t = gb[u];
    for (let e = 0; e < nPen; e++) t -= G[e][u] * zB[e];
    z[nPen + u] = t;
  }
  return z;
}

/**
 * argmin_z 1/2 z^T S z - c^T z + l1 ||z||_1 (S SPD, n x n): cyclic coordinate descent, and every
 * 20 sweeps an active-set step: solve S_AA z_A = c_A - l1 sign(z_A) on the current support A and
 * keep it when the signs hold and the zeros satisfy |c_j - (S z)_j| <= l1 (the optimality
 * conditions), which ends the iteration exactly instead of at CD's linear rate.
 */
function lassoQP(S: Float64Array, c: Float64Array, l1: number, n: number, z: Float64Array): Float64Array {
  const Sz = new Float64Array(n);
  const refresh = (): void => {
    for (let a = 0; a < n; a++) {
      let t = 0;
      for (let e = 0; e < n; e++) t += S[a * n + e] * z[e];
      Sz[a] = t;
    }
  };
  refresh();
  for (let round = 0; round < 500; round++) {
    for (let sweep = 0; sweep < 20; sweep++) {
      let change = 0;
      let size = 0;
      for (let j = 0; j < n; j++) {
        const sjj = S[j * n + j];
        const rest = c[j] - (Sz[j] - sjj * z[j]);
        const zj = (rest > l1 ? rest - l1 : rest < -l1 ? rest + l1 : 0) / sjj;
        const delta = zj - z[j];
        if (delta !== 0) {
          for (let a = 0; a < n; a++) Sz[a] += S[a * n + j] * delta;
          z[j] = zj;
        }
        change = Math.max(change, Math.abs(delta));
        size = Math.max(size, Math.abs(zj));
      }
      if (change <= 1e-15 * Math.max(size, 1)) return z;
    }
    const A: number[] = [];
    for (let j = 0; j < n; j++) if (z[j] !== 0) A.push(j);
    const m = A.length;
    const SAA = new Float64Array(m * m);
    const rhs = new Float64Array(m);
    for (let a = 0; a < m; a++) {
      for (let e = 0; e < m; e++) SAA[a * m + e] = S[A[a] * n + A[e]];
      rhs[a] = c[A[a]] - l1 * Math.sign(z[A[a]]);
    }
    const zA = m > 0 ? dampedSolve(SAA, m, rhs) : new Float64Array(0);
    let ok = true;
    for (let a = 0; a < m && ok; a++) ok = Math.sign(zA[a]) === Math.sign(z[A[a]]);
    if (!ok) continue;
    const cand = new Float64Array(n);
    for (let a = 0; a < m; a++) cand[A[a]] = zA[a];
    for (let j = 0; j < n && ok; j++) {
      if (cand[j] !== 0) continue;
      let t = 0;
      for (let e = 0; e < n; e++) t += S[j * n + e] * cand[e];
      ok = Math.abs(c[j] - t) <= l1 * (1 + 1e-12);
    }
    if (ok) return cand;
    z.set(cand);
    refresh();
  }
  return z;
}

export interface Residuals {
  r: number;
  s: number;
  epsPri: number;
  epsDual: number;
}

export class AdmmState {
  readonly obj: GlmObjective;
  readonly N: number;
  readonly d: number;
  readonly alpha: number;
  readonly absTol: number;
  readonly relTol: number;
  readonly maxIter: number;
  readonly adaptive: boolean;
  readonly localMaxIter: number;
  readonly localTol: number;
  readonly xs: Float64Array[];
  readonly us: Float64Array[];
  readonly xhs: Float64Array[];
  z: Float64Array;
  M: Float64Array | null;
  rho: number;
  private readonly refreshAt: Set<number>;
  private readonly tmp: Float64Array;
  private readonly avg: Float64Array;

  private constructor(
    readonly problem: PartitionedProblem,
    options: AdmmOptions,
    obj: GlmObjective,
    z: Float64Array,
    M: Float64Array | null,
  ) {
    this.obj = obj;
    this.N = problem.nPartitions;
    this.d = obj.d;
    this.alpha = options.alpha ?? 1.5;
    this.absTol = options.absTol ?? 1e-6;
    this.relTol = options.relTol ?? 1e-5;
    this.maxIter = options.maxIter ?? 1000;
    this.adaptive = options.adaptiveRho ?? true;
    this.localMaxIter = options.localMaxIter ?? 1;
    this.localTol = 1e-10 * Math.max((obj.C * problem.sumWeights) / this.N, 1);
    this.z = z;
    this.M = M;
    this.rho = options.rho ?? (M !== null ? 1 : Math.max((0.1 * obj.C * problem.sumWeights) / this.N / this.d, 1e-8));
    this.refreshAt = new Set(options.metricRefresh ?? [3, 10, 30]);
    this.xs = Array.from({ length: this.N }, () => Float64Array.from(z));
    this.us = Array.from({ length: this.N }, () => new Float64Array(this.d));
    this.xhs = Array.from({ length: this.N }, () => new Float64Array(this.d));
    this.tmp = new Float64Array(this.d);
    this.avg = new Float64Array(this.d);
  }

  static async create(problem: PartitionedProblem, options: AdmmOptions, solver: "admm" | "admmAsync" = "admm"): Promise<AdmmState> {
    const obj = new GlmObjective(problem, options, solver);
    const alpha = options.alpha ?? 1.5;
    if (!(alpha > 0 && alpha < 2)) throw new GlmError(`glm: admm alpha must be in (0, 2), got ${alpha}`);
    const metric = options.metric ?? (problem.lossGradHess !== undefined ? "hessian" : "identity");
    if (metric === "hessian" && problem.lossGradHess === undefined) {
      throw new GlmError('glm: admm metric "hessian" needs a problem with lossGradHess');
    }
    const z = obj.start(options.x0);
    const M = metric === "hessian" ? await metricAt(problem, obj, z) : null;
    return new AdmmState(problem, options, obj, z, M);
  }

  /** Arguments of partition i's local solve at the current z, u_i, rho (warm start x_i). */
  localArgs(i: number): LocalProxArgs {
    const v = new Float64Array(this.d);
    const u = this.us[i];
    for (let j = 0; j < this.d; j++) v[j] = this.z[j] - u[j];
    return {
      v,
      rho: this.rho,
      C: this.obj.C,
      x0: this.xs[i],
      tol: this.localTol,
      maxIter: this.localMaxIter,
      ...(this.M !== null ? { metric: this.M } : {}),
    };
  }

  /** Records partition i's new x_i and its over-relaxed xh_i (relative to zAtSubmit). */
  acceptLocal(i: number, x: Float64Array, zAtSubmit: Float64Array): void {
    this.xs[i] = x;
    const xh = this.xhs[i];
    const a = this.alpha;
    for (let j = 0; j < this.d; j++) xh[j] = a * x[j] + (1 - a) * zAtSubmit[j];
  }

  /** mean_i(xh_i + u_i), the point the z-update pulls towards (into a buffer reused per call). */
  consensusTarget(): Float64Array {
    const { N, d, avg } = this;
    avg.fill(0);
    for (let i = 0; i < N; i++) {
      const xh = this.xhs[i];
      const u = this.us[i];
      for (let j = 0; j < d; j++) avg[j] += xh[j] + u[j];
    }
    for (let j = 0; j < d; j++) avg[j] /= N;
    return avg;
  }

  /** z <- argmin R(z) + N/2 ||z - avg||_P^2 (the prox of R in the metric). */
  zUpdate(avg: Float64Array): void {
    const { reg, nPen } = this.obj;
    this.z =
      this.M !== null
        ? metricProx(this.M, this.N * this.rho, avg, reg, nPen, this.z)
        : reg.prox(avg, 1 / (this.N * this.rho), nPen, new Float64Array(this.d));
  }

  /** u_i <- u_i + xh_i - z (z: the current consensus unless given). */
  dualUpdate(i: number, z: Float64Array = this.z): void {
    const u = this.us[i];
    const xh = this.xhs[i];
    for (let j = 0; j < this.d; j++) u[j] += xh[j] - z[j];
  }

  /** Boyd's residuals and tolerances for the current state against the previous z. */
  residuals(zPrev: Float64Array): Residuals {
    const { N, d, z, M, rho, tmp } = this;
    let r2 = 0;
    let x2 = 0;
    let y2 = 0;
    for (let i = 0; i < N; i++) {
      const x = this.xs[i];
      for (let j = 0; j < d; j++) {
        const dx = x[j] - z[j];
        r2 += dx * dx;
        x2 += x[j] * x[j];
      }
      mul(M, this.us[i], tmp);
      for (let j = 0; j < d; j++) y2 += rho * rho * tmp[j] * tmp[j];
    }
    let z2 = 0;
    for (let j = 0; j < d; j++) {
      tmp[j] = z[j] - zPrev[j];
      z2 += z[j] * z[j];
    }
    const dz = mul(M, tmp, new Float64Array(d));
    let dz2 = 0;
    for (let j = 0; j < d; j++) dz2 += dz[j] * dz[j];
    const sqrtNd = Math.sqrt(N * d);
    return {
      r: Math.sqrt(r2),
      s: rho * Math.sqrt(N * dz2),
      epsPri: sqrtNd * this.absTol + this.relTol * Math.max(Math.sqrt(x2), Math.sqrt(N * z2)),
      epsDual: sqrtNd * this.absTol + this.relTol * Math.sqrt(y2),
    };
  }

  /** Residual balancing: rho x2 when r > 10 s, / 2 when s > 10 r; scaled duals follow. */
  balance({ r, s }: Residuals): void {
    if (!this.adaptive || !(r > 10 * s || s > 10 * r)) return;
    const tau = r > 10 * s ? 2 : 0.5;
    this.rho *= tau;
    for (const u of this.us) for (let j = 0; j < this.d; j++) u[j] /= tau;
  }

  /**
   * At the configured iterations, recompute the metric at z (curvature there is a better
   * metric than at the start), keeping the unscaled duals y_i = rho M u_i.
   */
  async maybeRefreshMetric(iter: number): Promise<void> {
    if (this.M === null || !this.refreshAt.has(iter)) return;
    const Mnew = await metricAt(this.problem, this.obj, this.z);
    for (const u of this.us) u.set(dampedSolve(Mnew, this.d, mul(this.M, u, this.tmp)));
    this.M = Mnew;
  }

  async result(iter: number, converged: boolean): Promise<SolverResult> {
    const e = await this.obj.smooth(this.z);
    return this.obj.finish(this.z, e.f + this.obj.nonSmooth(this.z), iter, converged);
  }
}

/**
 * M = C H(at) / N (about one partition's curvature) plus a small ridge, which keeps M definite
 * along directions the data do not determine (constant columns, the multinomial gauge).
 */
async function metricAt(problem: PartitionedProblem, obj: GlmObjective, at: Float64Array): Promise<Float64Array> {
  const { hess } = await problem.lossGradHess!(at);
  obj.passes++;
  const d = obj.d;
  const N = problem.nPartitions;
  let tr = 0;
  for (let j = 0; j < d; j++) tr += hess[j * d + j];
  const ridge = (1e-6 * obj.C * tr) / (N * d) || 1e-12;
  for (let k = 0; k < d * d; k++) hess[k] *= obj.C / N;
  for (let j = 0; j < d; j++) hess[j * d + j] += ridge;
  return hess;
}
