/**
 * Consensus ADMM (Boyd et al., "Distributed Optimization and Statistical Learning via ADMM",
 * sections 3.3-3.4 and 7.1), scaled form, one block per partition, with penalty matrix
 * P = rho * M:
 *
 *   x_i  <- argmin C f_i(x) + 1/2 ||x - z + u_i||_P^2       (problem.localProx, where the
 *                                                           partition lives, warm-started)
 *   xh_i <- alpha x_i + (1 - alpha) z                       (over-relaxation)
 *   z    <- argmin R(z) + N/2 ||z - mean_i(xh_i + u_i)||_P^2 (the prox of R in the P metric,
 *                                                           on the client; intercepts unpenalised)
 *   u_i  <- u_i + xh_i - z
 *
 * metric "identity" is textbook ADMM (M = I: the z-update is R's ordinary prox, elementwise).
 * Its rate is bound by the conditioning of the local Hessians (hundreds of iterations on
 * non-centred data). metric "hessian" (the default when the problem has lossGradHess) takes M =
 * C * Hessian(x0) / N, one Hessian pass at the start: the constraint is weighted by the local
 * curvature, which removes most of that dependence; M is recomputed at z at iterations 3, 10
 * and 30 (metricRefresh). Its z-update is a d-dimensional problem solved on the client (a
 * Cholesky solve for smooth R; with l1, coordinate descent finished by an exact active-set
 * solve). Local solves are inexact by default: one damped Newton step from the warm start.
 *
 * Stops when the primal residual r = (sum ||x_i - z||^2)^1/2 and the dual residual
 * s = sqrt(N) ||P (z - z_prev)|| fall below
 *   eps_pri  = sqrt(N d) absTol + relTol max(||x||, sqrt(N) ||z||)
 *   eps_dual = sqrt(N d) absTol + relTol ||P u||   (P u_i is the unscaled dual y_i).
 * rho adapts by residual balancing (3.4.1): doubled when r > 10 s, halved when s > 10 r, u
 * rescaled with it. Only d-sized vectors (and M, d x d) cross between client and partitions.
 */
import { admmAsync } from "./admm-async.js";
import { AdmmState } from "./admm-state.js";
import type { AdmmOptions } from "./admm-state.js";
import type { PartitionedProblem, SolverResult } from "./types.js";

export type { AdmmOptions } from "./admm-state.js";

export async function admm(problem: PartitionedProblem, options: AdmmOptions = {}): Promise<SolverResult> {
  if (options.asynchronous === true) return admmAsync(problem, options);
  const st = await AdmmState.create(problem, options);
  const { N } = st;
  const localProx = problem.localProx!.bind(problem);
  let converged = false;
  let iter = 0;
  for (; iter < st.maxIter; iter++) {
    await st.maybeRefreshMetric(iter);
    const zNow = st.z;
    const next = await Promise.all(st.xs.map((_, i) => localProx(i, st.localArgs(i))));
    st.obj.passes++;
    for (let i = 0; i < N; i++) st.acceptLocal(i, next[i], zNow);
    st.zUpdate(st.consensusTarget());
    for (let i = 0; i < N; i++) st.dualUpdate(i);
    const res = st.residuals(zNow);
    options.callback?.(iter + 1, res.r);
    if (res.r <= res.epsPri && res.s <= res.epsDual) {
      converged = true;
      iter++;
      break;
    }
    st.balance(res);
  }
  return st.result(iter, converged);
}
