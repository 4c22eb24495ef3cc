/**
 * skein/solvers: GLM optimisation on row-partitioned data. Solvers run on a PartitionedProblem
 * (LocalProblem in-process; a distributed problem supplies the same per-partition kernels
 * through the cluster) and minimise F = C * sum_i w_i loss_i + R(B) (see ObjectiveOptions).
 */
export type {
  DenseMatrix,
  FamilyName,
  KernelSpec,
  LocalProxArgs,
  LossGrad,
  LossGradHess,
  ObjectiveOptions,
  Partition,
  PartitionStats,
  PartitionedProblem,
  PenaltyName,
  SampledProblem,
  SolverName,
  SolverOptions,
  SolverResult,
} from "./types.js";
export { GlmError, UnsupportedPenaltyError } from "./errors.js";
export { FAMILIES, Logistic, Multinomial, Normal, Poisson, log1pExp, sigmoid, softmaxInto } from "./families.js";
export type { Family } from "./families.js";
export {
  lossGradHessInto,
  lossGradInto,
  nOutputs,
  partitionLoss,
  partitionLossGrad,
  partitionLossGradHess,
  sumLossGradHesses,
  sumLossGrads,
  thetaLength,
  validatePartition,
} from "./kernels.js";
export { localProxSolve } from "./local-solve.js";
export type { LocalProxResult } from "./local-solve.js";
export { Regularizer, makeRegularizer } from "./regularizers.js";
export { GlmObjective } from "./objective.js";
export { LocalProblem, splitRows } from "./problem.js";
export { SOLVER_SUPPORT, checkSupport, supports } from "./support.js";
export { fromSklearn } from "./sklearn.js";
export type { SklearnModel, SkeinObjectiveParams } from "./sklearn.js";
export { gradientDescent } from "./gradient-descent.js";
export type { GradientDescentOptions } from "./gradient-descent.js";
export { proximalGradient } from "./proximal-gradient.js";
export type { ProximalGradientOptions } from "./proximal-gradient.js";
export { lbfgs } from "./lbfgs.js";
export type { LbfgsOptions } from "./lbfgs.js";
export { newton } from "./newton.js";
export type { NewtonOptions } from "./newton.js";
export { SAMPLE_MIN_ROWS, SAMPLE_TARGET_ROWS, defaultSampleStride, subsamplePartition } from "./subsample.js";
export { admm } from "./admm.js";
export { admmAsync } from "./admm-async.js";
export type { AdmmOptions } from "./admm.js";
export { solve } from "./solve.js";
export type { SolveOptions } from "./solve.js";
export { DistributedProblem } from "./distributed.js";
export type { DistributedProblemOptions, PartitionSource } from "./distributed.js";
export { localProxTask, validatePartitionTask } from "./distributed-tasks.js";
export type { PartitionInfo } from "./distributed-tasks.js";
