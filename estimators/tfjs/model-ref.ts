/**
 * The model factory: an exported function `(params) => tf.LayersModel`, held by reference
 * (module URL + export name, as every skein function) so estimators stay plain data. A
 * function given directly is located through V8 (skein's locateFunction); closures and
 * anonymous functions are refused with skein's own message, since a worker could not load them.
 *
 * `buildSeeded` makes initialisation reproducible whatever the factory does: tfjs draws the seed
 * of an unseeded initializer from Math.random, so Math.random is replaced by a seeded generator
 * for the (synchronous) duration of the factory call.
 */
import { locateFunction } from "../../src/functions/locate.js";
import { resolveExport, resolvedRef } from "../../src/functions/resolve.js";
import { loadFunction } from "../../src/functions/load.js";
import type { FnRef } from "../../src/graph/spec.js";
import { TF_PREFIX, tf } from "./backend.js";

/** What the factory receives: the estimator's `modelParams` plus the shapes fit found. */
export interface ModelFactoryArgs extends Record<string, unknown> {
  nFeatures: number;
  /**
   * Output columns the model must produce: the number of classes (softmax) for a classifier, the
   * number of targets for a regressor. A binary classifier may instead end in 1 sigmoid column.
   */
  nOutputs: number;
  /** Classes seen in fit (classifiers), else 0. */
  nClasses: number;
  randomState: number;
}

export type ModelFactory = (args: ModelFactoryArgs) => tf.LayersModel;

/** The `model` parameter: the factory itself or its reference. */
export type ModelSpec = ModelFactory | FnRef;

export function isFnRef(v: unknown): v is FnRef {
  return typeof v === "object" && v !== null && typeof (v as FnRef).module === "string" && typeof (v as FnRef).name === "string";
}

/**
 * The plain-data reference of a model spec, synchronously: verified if `verifiedModelRef` ran
 * for it, else located through V8 (throws skein's message for anonymous and bound functions).
 */
export function modelRef(spec: ModelSpec): FnRef {
  if (isFnRef(spec)) return { module: spec.module, name: spec.name };
  if (typeof spec !== "function") throw new TypeError(`${TF_PREFIX} model must be an exported factory function or { module, name }, got ${typeof spec}`);
  const ref = resolvedRef(spec) ?? locateFunction(spec);
  return { module: ref.module, name: ref.name };
}

/** The reference after checking (by importing its module) that workers will find the export; null if not. */
export async function verifiedModelRef(spec: ModelSpec): Promise<FnRef | null> {
  if (isFnRef(spec)) return { module: spec.module, name: spec.name };
  try {
    const ref = await resolveExport(spec);
    return { module: ref.module, name: ref.name };
  } catch {
    return null;
  }
}

/** The factory function (imports its module when only the reference is known). */
export async function loadFactory(spec: ModelSpec): Promise<ModelFactory> {
  if (typeof spec === "function") return spec;
  if (!isFnRef(spec)) throw new TypeError(`${TF_PREFIX} model must be an exported factory function or { module, name }, got ${typeof spec}`);
  return (await loadFunction(spec)) as ModelFactory;
}

/** mulberry32: small, fast, good enough for initializer seeds. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Calls the factory with Math.random seeded by `args.randomState`, and checks what it built. */
export function buildSeeded(factory: ModelFactory, args: ModelFactoryArgs): tf.LayersModel {
  const saved = Math.random;
  Math.random = seededRandom(args.randomState);
  let model: unknown;
  try {
    model = factory(args);
  } finally {
    Math.random = saved;
  }
  if (!(model instanceof tf.LayersModel)) {
    throw new TypeError(`${TF_PREFIX} the model factory "${factory.name}" must return a tf.LayersModel (tf.sequential() or tf.model()), got ${model === null ? "null" : typeof model}`);
  }
  checkShapes(model, args);
  return model;
}

function shapeText(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? "null" : String(d))).join(", ")}]`;
}

function checkShapes(model: tf.LayersModel, args: ModelFactoryArgs): void {
  const ins = model.inputs;
  const outs = model.outputs;
  if (ins.length !== 1 || outs.length !== 1) {
    throw new RangeError(`${TF_PREFIX} the model must have one input and one output, it has ${ins.length} and ${outs.length}`);
  }
  const inShape = ins[0].shape;
  const outShape = outs[0].shape;
  if (inShape.length !== 2 || inShape[1] !== args.nFeatures) {
    throw new RangeError(`${TF_PREFIX} the model's input shape is ${shapeText(inShape)}, the data needs [null, ${args.nFeatures}]`);
  }
  const binarySigmoid = args.nClasses === 2 && outShape[1] === 1;
  if (outShape.length !== 2 || (outShape[1] !== args.nOutputs && !binarySigmoid)) {
    throw new RangeError(`${TF_PREFIX} the model's output shape is ${shapeText(outShape)}, expected [null, ${args.nOutputs}] (nOutputs)`);
  }
}
