/**
 * skein/estimators: the scikit-learn estimator contract in TypeScript, its conformance suite,
 * preprocessing, pipelines, metrics and scorers, cross-validation splitters, reference models,
 * and GridSearchCV / RandomizedSearchCV compiled to one task graph.
 */
export {
  BaseEstimator,
  NotFittedError,
  clone,
  fromJSON,
  fromJSONAsync,
  isEstimator,
  loadEstimator,
  registerEstimator,
  registerParamCodec,
  saveEstimator,
  validateParams,
  type Constraint,
  type ConstraintTable,
  type Estimator,
  type EstimatorClass,
  type EstimatorJSON,
  type EstimatorTags,
  type FitOptions,
  type ParamCodec,
  type Params,
} from "./base.js";
export { checkEstimator, CHECK_NAMES, type CheckOptions, type EstimatorCheck } from "./checks.js";
export {
  MinMaxScaler,
  OneHotEncoder,
  PolynomialFeatures,
  SimpleImputer,
  StandardScaler,
  type MinMaxScalerParams,
  type OneHotEncoderParams,
  type PolynomialFeaturesParams,
  type SimpleImputerParams,
  type StandardScalerParams,
} from "./preprocessing.js";
export { NearestCentroid, RidgeRegression, type NearestCentroidParams, type RidgeParams } from "./models.js";
export { Pipeline, makePipeline, type PipelineParams, type Step } from "./pipeline.js";
export { ColumnTransformer, type ColumnSelector, type ColumnTransformerEntry, type ColumnTransformerParams } from "./compose.js";
export {
  SCORERS,
  accuracyScore,
  balancedAccuracyScore,
  defaultScorer,
  f1Score,
  getScorer,
  logLoss,
  meanAbsoluteError,
  meanSquaredError,
  precisionScore,
  r2Score,
  recallScore,
  rocAucScore,
  type Average,
  type ClassMetricOptions,
  type Scorer,
} from "./metrics.js";
export {
  GroupKFold,
  KFold,
  Rng,
  ShuffleSplit,
  StratifiedKFold,
  checkCv,
  takeColumns,
  takeRows,
  trainTestSplit,
  type KFoldOptions,
  type ShuffleSplitOptions,
  type Split,
  type Splitter,
  type TrainTest,
  type TrainTestSplitOptions,
} from "./split.js";
export {
  GridSearchCV,
  RandomizedSearchCV,
  buildSearchGraph,
  expandGrid,
  logUniform,
  randint,
  rankScores,
  runGraphLocally,
  sampleParams,
  uniform,
  type BaseSearchParams,
  type CvResults,
  type Distribution,
  type FailedFit,
  type GridSearchParams,
  type ParamGrid,
  type RandomizedSearchParams,
  type Scoring,
  type SearchFitOptions,
  type SearchGraph,
} from "./search.js";
export {
  LinearRegression,
  LogisticRegression,
  PoissonRegression,
  type DistributedInput,
  type GlmFitOptions,
  type GlmSolverName,
  type LinearRegressionParams,
  type LogisticRegressionParams,
  type PoissonRegressionParams,
} from "./glm.js";

// XGBoost: importing loads nothing; the library is opened on first use (clear error when missing).
export * from "./xgboost/index.js";

// Adaptive searches: successive halving and hyperband, driven by asCompleted.
export { AdaptiveSearchCV, topK, subsample, type AdaptiveFitOptions, type AdaptiveSearchParams, type AdaptiveState, type Bracket, type RungPlan } from "./adaptive.js";
export {
  HalvingBracket,
  HalvingGridSearchCV,
  HalvingRandomSearchCV,
  halvingSchedule,
  type HalvingGridSearchParams,
  type HalvingRandomSearchParams,
  type HalvingSchedule,
  type HalvingSearchParams,
} from "./halving.js";
export { HyperbandSearchCV, hyperbandBrackets, type HyperbandBracketPlan, type HyperbandSearchParams } from "./hyperband.js";

// ONNX: OnnxModel (an .onnx file run by onnxruntime-node in the workers) and toOnnx (export). onnxruntime opens on first use.
export * from "./onnx/index.js";

// Batch prediction and incremental fits on partitioned data; model files.
export { ParallelPostFit, type ParallelPostFitParams, type PostFitInput, type PostFitOptions, type PostFitScoreOptions } from "./parallel.js";
export { Incremental, type IncrementalFitOptions, type IncrementalInput, type IncrementalParams } from "./incremental.js";
export { MODEL_FORMAT, MODEL_FORMAT_VERSION, ModelFileError, decodeModel, encodeModel, load, save, sidecarPath, type EncodedModel, type SaveOptions } from "./persist.js";
