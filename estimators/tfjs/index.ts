/**
 * skein's TensorFlow.js hand-off (entry `skein/estimators/tfjs`, kept apart from
 * `skein/estimators` because importing it loads tfjs and initialises its wasm backend):
 * KerasClassifier / KerasRegressor around a model factory, synchronous data-parallel SGD on
 * partitioned collections, and the pieces they are made of.
 */
export { tfReady, assertReady, TF_PREFIX, tf, type BackendInfo } from "./backend.js";
export { KerasClassifier, KerasRegressor, type KerasParams, type KerasState, type KerasFitOptions } from "./estimators.js";
export type { KerasDistributedInput } from "./sources.js";
export { mlp } from "./models.js";
export { buildSeeded, loadFactory, modelRef, seededRandom, type ModelFactory, type ModelFactoryArgs, type ModelSpec } from "./model-ref.js";
export { modelFromTopology, setWeights, topologyOf, weightsOf, type Topology, type WeightsData } from "./model-state.js";
export { OPTIMIZERS, makeOptimizer, optimizerState, setOptimizerState, type OptimizerName, type OptimizerSpec, type OptimizerStateData } from "./optimizer.js";
export { chunkBounds, rowOrder, stepsPerEpoch, type BatchPlan } from "./batches.js";
export { LOSSES, type LossKind } from "./train-step.js";
export { trainLocal, type TrainPart, type TrainRun } from "./trainer.js";
export { trainDataParallel, groupIndices, type DataParallelRun, type DataParallelResult } from "./distributed.js";
export type { SessionSpec, StepMsg, StepResult, PartitionInfo } from "./distributed-tasks.js";
export { encodeTargets } from "./targets.js";
