/**
 * Consensus ADMM (Boyd et al., "Distributed Optimization and Statistical Learning via ADMM",
 * sections 3.3-3.4 and 7.1), scaled form, one block per partition:
 *
 *   x_i  <- argmin C f_i(x) + rho/2 ||x - z + u_i||^2     (problem.localProx, on the worker,
 *                                                          warm-started from the last x_i)
 *   xh_i <- alpha x_i + (1 - alpha) z                      (over-relaxation)
 *   z    <- prox_{R/(N rho)}( mean_i (xh_i + u_i) )        (on the client; intercepts unpenalised)
 *   u_i  <- u_i + xh_i - z
 *
 * Stops when the primal residual r = (sum ||x_i - z||^2)^1/2 and the dual residual
 * s = rho sqrt(N) ||z - z_prev|| fall below
 *   eps_pri  = sqrt(N d) absTol + relTol max(||x||, sqrt(N) ||z||)
 *   eps_dual = sqrt(N d) absTol + relTol rho ||u||.
 * rho adapts by residual balancing (3.4.1): times tau when r > mu s, divided when s > mu r
 * (u is rescaled with it). Only d-sized vectors cross between client and partitions.
 */
import { GlmError } from "./errors.js";
import { GlmObjective } from "./objective.js";
import type { PartitionedProblem, SolverOptions, SolverResult } from "./types.js";

export interface AdmmOptions extends SolverOptions {
  /** Initial penalty parameter; default 0.1 * C * sumWeights / nPartitions / d. */
  rho?: number;
  /** Over-relaxation alpha in [1, 1.8]; default 1.5. */
  alpha?: number;
  /** Absolute and relative residual tolerances; defaults 1e-6 and 1e-5. */
  absTol?: number;
  relTol?: number;
  /** Residual balancing; default true. */
  adaptiveRho?: boolean;
  /** Newton steps allowed per local solve; default 20. */
  localMaxIter?: number;
}

export async function admm(problem: PartitionedProblem, options: AdmmOptions = {}): Promise<SolverResult> {
  const obj = new GlmObjective(problem, options, "admm");
  const localProx = problem.localProx!.bind(problem);
  const N = problem.nPartitions;
  const d = obj.d;
  const nPen = obj.nPen;
  const C = obj.C;
  const alpha = options.alpha ?? 1.5;
  if (!(alpha > 0 && alpha < 2)) throw new GlmError(`glm: admm alpha must be in (0, 2), got ${alpha}`);
  const absTol = options.absTol ?? 1e-6;
  const relTol = options.relTol ?? 1e-5;
  const maxIter = options.maxIter ?? 1000;
  const adaptive = options.adaptiveRho ?? true;
  const localMaxIter = options.localMaxIter ?? 20;
  const localTol = 1e-10 * Math.max((C * problem.sumWeights) / N, 1);
  let rho = options.rho ?? Math.max((0.1 * C * problem.sumWeights) / N / d, 1e-8);

  let z = obj.start(options.x0);
  const xs: Float64Array[] = Array.from({ length: N }, () => Float64Array.from(z));
  const us: Float64Array[] = Array.from({ length: N }, () => new Float64Array(d));
  const xhs: Float64Array[] = Array.from({ length: N }, () => new Float64Array(d));
  const avg = new Float64Array(d);
  const sqrtNd = Math.sqrt(N * d);
  let converged = false;
  let iter = 0;
  for (; iter < maxIter; iter++) {
    const rhoNow = rho;
    const zNow = z;
    const next = await Promise.all(
      xs.map((x0, i) => {
        const v = new Float64Array(d);
        const u = us[i];
        for (let j = 0; j < d; j++) v[j] = zNow[j] - u[j];
        return localProx(i, { v, rho: rhoNow, C, x0, tol: localTol, maxIter: localMaxIter });
      }),
    );
    obj.passes++;
    // Over-relaxation, then z = prox(mean(xh_i + u_i)).
    avg.fill(0);
    for (let i = 0; i < N; i++) {
      const x = next[i];
      xs[i] = x;
      const xh = xhs[i];
      const u = us[i];
      for (let j = 0; j < d; j++) {
        xh[j] = alpha * x[j] + (1 - alpha) * z[j];
        avg[j] += xh[j] + u[j];
      }
    }
    for (let j = 0; j < d; j++) avg[j] /= N;
    const zOld = z;
    z = obj.reg.prox(avg, 1 / (N * rho), nPen, new Float64Array(d));
    // Dual update and residuals.
    let r2 = 0;
    let x2 = 0;
    let u2 = 0;
    for (let i = 0; i < N; i++) {
      const x = xs[i];
      const xh = xhs[i];
      const u = us[i];
      for (let j = 0; j < d; j++) {
        u[j] += xh[j] - z[j];
        const dx = x[j] - z[j];
        r2 += dx * dx;
        x2 += x[j] * x[j];
        u2 += u[j] * u[j];
      }
    }
    let dz2 = 0;
    let z2 = 0;
    for (let j = 0; j < d; j++) {
      dz2 += (z[j] - zOld[j]) ** 2;
      z2 += z[j] * z[j];
    }
    const r = Math.sqrt(r2);
    const s = rho * Math.sqrt(N * dz2);
    const epsPri = sqrtNd * absTol + relTol * Math.max(Math.sqrt(x2), Math.sqrt(N * z2));
    const epsDual = sqrtNd * absTol + relTol * rho * Math.sqrt(u2);
    options.callback?.(iter + 1, r);
    if (r <= epsPri && s <= epsDual) {
      converged = true;
      iter++;
      break;
    }
    if (adaptive && (r > 10 * s || s > 10 * r)) {
      // Scaled dual u = y / rho: rescale with rho.
      const tau = r > 10 * s ? 2 : 0.5;
      rho *= tau;
      for (const u of us) for (let j = 0; j < d; j++) u[j] /= tau;
    }
  }
  const e = await obj.smooth(z);
  return obj.finish(z, e.f + obj.nonSmooth(z), iter, converged);
}
