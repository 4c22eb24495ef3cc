/**
 * skein's XGBoost hand-off: the libxgboost binding (loaded on first use, so importing this module
 * never fails), DMatrix / Booster / train (local, or distributed over partitions the workers hold,
 * with skein's rabit tracker), and the XGBClassifier / XGBRegressor / XGBRanker estimators.
 */
export { XGBOOST_PACKAGE, XGBoostError, XGBoostNotInstalledError, xgboostAvailable, xgboostLibraryCandidates, xgboostVersion } from "./ffi.js";
export { DMatrix } from "./dmatrix.js";
export type { DMatrixOptions, DenseInput, FloatVector } from "./dmatrix.js";
export { Booster } from "./booster.js";
export type { BoosterParams, ImportanceType, ModelFormat, ParamValue, PredictOptions, Prediction } from "./booster.js";
export { metricMaximized, parseEvalLine, pyFloatString } from "./train.js";
export { defaultTrackerHost, distributedClasses, train, trainOnCluster } from "./dist.js";
export type { DistributedData, DistributedInput, DistributedSource, DistributedTrainOptions, DistributedTrainResult, ParticipantPlan, ParticipantReport } from "./dist.js";
export { RabitTracker, linkMap } from "./tracker.js";
export type { LinkMap, TrackerAddress, TrackerOptions } from "./tracker.js";
export type { EvalsResult, TrainOptions, TrainResult } from "./train.js";
export { XGBClassifier, XGBRanker, XGBRegressor, meanNdcg } from "./estimators.js";
export type { XGBFitOptions, XGBModelState, XGBParams } from "./estimators.js";
export { boosterParams, toCamel, toSnake } from "./params.js";
export {
  communicatorAbandon,
  communicatorFinalize,
  communicatorInit,
  communicatorIsDistributed,
  communicatorPrint,
  communicatorRank,
  communicatorWorldSize,
} from "./collective.js";
