/**
 * Shared types of skein/solvers: the data a partition holds, the plain-data spec a per-partition
 * kernel runs with, the `PartitionedProblem` every solver runs on, and solver options/results.
 *
 * Parameter layout ("theta"): a GLM with p features and K outputs (K = 1 except multinomial,
 * where K = number of classes) has coefficients B (p x K) and, with `fitIntercept`, intercepts
 * b (K). theta is one Float64Array: B row-major (theta[j*K + k]), then b (theta[p*K + k]). Read
 * the intercept as feature row p with x = 1: index (j, k) -> j*K + k for j in 0..p. Only the
 * first p*K entries are penalised.
 */

/** A dense row-major matrix, as everywhere in skein. */
export interface DenseMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

/** One row partition of a GLM's data; `w` are sample weights (default 1). */
export interface Partition {
  readonly X: DenseMatrix;
  readonly y: Float64Array;
  readonly w?: Float64Array;
}

export type FamilyName = "logistic" | "normal" | "poisson" | "multinomial";
export type PenaltyName = "none" | "l1" | "l2" | "elasticnet";
export type SolverName = "gradientDescent" | "proximalGradient" | "lbfgs" | "newton" | "admm" | "admmAsync";

/** What a kernel needs besides the data. Plain data, so a task can carry it to a worker. */
export interface KernelSpec {
  readonly family: FamilyName;
  readonly fitIntercept: boolean;
  /** Number of classes K; multinomial only (y holds class indices 0..K-1). */
  readonly nClasses?: number;
}

export interface LossGrad {
  /** sum_i w_i loss_i (no C, no penalty). */
  loss: number;
  grad: Float64Array;
}

export interface LossGradHess extends LossGrad {
  /** d x d, row-major, symmetric. */
  hess: Float64Array;
}

export interface PartitionStats {
  rows: number;
  sumWeights: number;
}

/**
 * The per-partition sub-problem of consensus ADMM:
 *   argmin_x  C * sum_{i in partition} w_i loss_i(x) + rho/2 (x - v)^T M (x - v)
 * over all of theta (intercepts included), started from x0 (the partition's previous x);
 * M = I unless `metric` (d x d, symmetric positive definite) is given.
 */
export interface LocalProxArgs {
  readonly v: Float64Array;
  readonly rho: number;
  readonly metric?: Float64Array;
  readonly C: number;
  readonly x0: Float64Array;
  /** Stop when the sub-problem's gradient max-norm is <= tol. */
  readonly tol: number;
  readonly maxIter: number;
}

/**
 * Data split in row partitions, seen only through sums over partitions. Solvers run on this
 * and nothing else: `LocalProblem` implements it over in-memory partitions; a distributed
 * implementation runs the same kernels (solvers/kernels.ts) as tasks where the partitions
 * live and sums the p-sized results on the client.
 */
export interface PartitionedProblem {
  readonly nPartitions: number;
  /** Features (columns of X). */
  readonly p: number;
  readonly spec: KernelSpec;
  /** Total rows and total sample weight over all partitions (known after validation). */
  readonly nRows: number;
  readonly sumWeights: number;
  /** sum over partitions of sum_i w_i loss_i(theta). */
  loss(theta: Float64Array): Promise<number>;
  /** The loss and its gradient, summed over partitions. */
  lossGrad(theta: Float64Array): Promise<LossGrad>;
  /** Loss, gradient and Hessian X~^T W X~ (d x d), summed over partitions (Newton). */
  lossGradHess?(theta: Float64Array): Promise<LossGradHess>;
  /** ADMM's local solve on partition i (see LocalProxArgs); returns the new x_i. */
  localProx?(i: number, args: LocalProxArgs): Promise<Float64Array>;
  /**
   * Every stride-th row of every partition with weights x stride (see subsample.ts), as a
   * problem of its own; its release() frees what it holds. Newton warm-starts from its optimum.
   */
  subsample?(stride: number): Promise<SampledProblem>;
}

/** A PartitionedProblem made by subsample(); release it when done. */
export interface SampledProblem extends PartitionedProblem {
  release(): void;
}

/**
 * The objective every solver minimises (scikit-learn's C-scaled convention):
 *
 *   F(theta) = C * sum_i w_i * loss_i(theta) + lambda * R(B)
 *   R(B) = 0                                            penalty "none"
 *        = ||B||_1                                      "l1"
 *        = 1/2 ||B||_2^2                                "l2"
 *        = l1Ratio ||B||_1 + (1 - l1Ratio)/2 ||B||_2^2  "elasticnet"
 *
 * B excludes the intercepts (never penalised). loss_i is the family's negative log-likelihood
 * without terms constant in theta: logistic log(1+e^eta) - y*eta, normal (y-eta)^2/2, Poisson
 * e^eta - y*eta, multinomial logsumexp(eta) - eta_y. With lambda = 1 this is exactly
 * scikit-learn's LogisticRegression objective; solvers/sklearn.ts converts the other models'
 * alpha to C.
 */
export interface ObjectiveOptions {
  /** Default "none". */
  penalty?: PenaltyName;
  /** Weight of the data term; default 1. */
  C?: number;
  /** Elastic-net mixing in [0, 1]; default 0.5 (elasticnet only). */
  l1Ratio?: number;
  /** Penalty strength; default 1 (scikit-learn's convention puts the strength in C). */
  lambda?: number;
}

export interface SolverOptions extends ObjectiveOptions {
  /**
   * Stop when the optimality measure is <= tol: the max-norm of the (minimum-norm sub)gradient
   * of F divided by max(C * sumWeights, 1)
   * (scikit-learn's lbfgs uses the same measure on its mean-scaled objective). Default 1e-6.
   */
  tol?: number;
  maxIter?: number;
  /** Starting point (length d); default zeros. */
  x0?: Float64Array;
  /** Called once per iteration with the iteration number and current objective value. */
  callback?: (iter: number, objective: number) => void;
}

export interface SolverResult {
  /** Coefficients B, p x K row-major (p values for single-output families). */
  beta: Float64Array;
  /** Intercepts b (length K); zeros without fitIntercept. */
  intercept: Float64Array;
  /** The full parameter vector in theta layout. */
  theta: Float64Array;
  nIter: number;
  /** F at the returned point. */
  objective: number;
  converged: boolean;
  /** Passes over the data (loss, gradient or Hessian evaluations, local solves per round). */
  nPasses: number;
}
