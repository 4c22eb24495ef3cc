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
