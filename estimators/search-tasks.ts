/**
 * Task functions of the compiled searches (GridSearchCV / RandomizedSearchCV). Workers import
 * this module and call these exports; estimators arrive as EstimatorJSON and are rebuilt through
 * the registry. Failures are returned as values (`ok: false` with the message), not thrown, so
 * that a failing fit marks only its own candidate and fold and nothing is retried.
 */
import type { Matrix } from "../src/data/matrix.js";
import { fromJSONAsync, type Estimator, type EstimatorJSON } from "./base.js";
import { defaultScorer, getScorer } from "./metrics.js";
// Side effects: register skein's estimator classes on the worker.
import "./preprocessing.js";
import "./models.js";
import "./pipeline.js";
import "./compose.js";
import { takeRows, takeValues } from "./split.js";

export interface SearchData {
  X: Matrix;
  y: Float64Array | null;
  /** Sample weights routed to every step's fit (not to the scores), sliced per split. */
  w?: Float64Array | null;
}

/** Data flowing along a pipeline: the (transformed) rows, or the failure upstream. */
export type Carry =
  | { ok: true; X: Matrix; y: Float64Array | null; w?: Float64Array | null; fitTime: number }
  | { ok: false; error: string; fitTime: number };

export type Fitted = { ok: true; model: EstimatorJSON; fitTime: number; X: Matrix | null; y: Float64Array | null; w?: Float64Array | null } | { ok: false; error: string; fitTime: number };

export interface FoldScores {
  ok: boolean;
  error: string | null;
  test: Record<string, number>;
  train: Record<string, number> | null;
  fitTime: number;
  scoreTime: number;
}

export interface StepSpec {
  step: string;
  estimator: EstimatorJSON;
}

export interface ScoreSpec {
  /** Display name -> scorer name (null: the estimator's own score). */
  scorers: Record<string, string | null>;
  returnTrainScore: boolean;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function seconds(t0: number): number {
  return (performance.now() - t0) / 1000;
}

/** One side of one split: rows `idx` of the data. */
export function selectRows(data: SearchData, idx: Int32Array): Carry {
  const w = data.w ? takeValues(data.w, idx) : null;
  return { ok: true, X: takeRows(data.X, idx), y: data.y ? takeValues(data.y, idx) : null, w, fitTime: 0 };
}

/** Fits a non-final pipeline step on the training rows and returns it with their transform. */
export function fitTransformStep(spec: StepSpec, input: Carry | Fitted): Promise<Fitted> {
  return fitStep(spec, input, true);
}

/** Fits the final estimator; the model only (the rows stay upstream). */
export function fitFinalStep(spec: StepSpec, input: Carry | Fitted): Promise<Fitted> {
  return fitStep(spec, input, false);
}

async function fitStep(spec: StepSpec, input: Carry | Fitted, keepRows: boolean): Promise<Fitted> {
  const train = asCarry(input);
  if (!train.ok) return train;
  const t0 = performance.now();
  try {
    const est = await fromJSONAsync(spec.estimator);
    await est.fit(train.X, train.y ?? undefined, train.w ? { sampleWeight: train.w } : {});
    const fitTime = train.fitTime + seconds(t0);
    if (!keepRows) return { ok: true, model: est.toJSON(), fitTime, X: null, y: null };
    const X = transformOrThrow(est, spec.step, train.X);
    return { ok: true, model: est.toJSON(), fitTime, X, y: train.y, w: train.w };
  } catch (err) {
    return { ok: false, error: `step "${spec.step}" (${spec.estimator.type}) fit: ${message(err)}`, fitTime: train.fitTime + seconds(t0) };
  }
}

function transformOrThrow(est: Estimator, step: string, X: Matrix): Matrix {
  if (!est.transform) throw new TypeError(`step "${step}" (${est.estimatorType}) has no transform()`);
  return est.transform(X);
}

/** The test rows through a fitted non-final step. */
export async function transformStep(fitted: Fitted, test: Carry): Promise<Carry> {
  if (!fitted.ok) return fitted;
  if (!test.ok) return test;
  try {
    const est = await fromJSONAsync(fitted.model);
    return { ok: true, X: transformOrThrow(est, "?", test.X), y: test.y, fitTime: 0 };
  } catch (err) {
    return { ok: false, error: `transform (${fitted.model.type}): ${message(err)}`, fitTime: fitted.fitTime };
  }
}

/** The rows a task reads: a split's side, or the train rows a fitted step produced. */
function asCarry(v: Carry | Fitted): Carry {
  if (!v.ok || !("model" in v)) return v as Carry;
  if (!v.X) return { ok: false, error: `step output of ${v.model.type} holds no rows`, fitTime: v.fitTime };
  return { ok: true, X: v.X, y: v.y, w: v.w, fitTime: v.fitTime };
}


/** Scores of one candidate on one split: every scorer on the test rows (and the train rows). */
export async function scoreFold(spec: ScoreSpec, fitted: Fitted, test: Carry, trainInput: Carry | Fitted | null): Promise<FoldScores> {
  const train: Carry = trainInput ? asCarry(trainInput) : { ok: false, error: "train rows not passed", fitTime: 0 };
  const fail = (error: string, fitTime: number): FoldScores => ({ ok: false, error, test: {}, train: null, fitTime, scoreTime: 0 });
  if (!fitted.ok) return fail(fitted.error, fitted.fitTime);
  if (!test.ok) return fail(test.error, fitted.fitTime);
  const t0 = performance.now();
  try {
    const est = await fromJSONAsync(fitted.model);
    const run = (c: Carry & { ok: true }): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const [display, name] of Object.entries(spec.scorers)) {
        const scorer = name === null ? defaultScorer : getScorer(name);
        out[display] = scorer(est, c.X, c.y ?? new Float64Array(c.X.rows));
      }
      return out;
    };
    const testScores = run(test);
    const scoreTime = seconds(t0);
    let trainScores: Record<string, number> | null = null;
    if (spec.returnTrainScore) {
      if (!train.ok) return fail(train.error, fitted.fitTime);
      trainScores = run(train);
    }
    return { ok: true, error: null, test: testScores, train: trainScores, fitTime: fitted.fitTime, scoreTime };
  } catch (err) {
    return fail(`scoring: ${message(err)}`, fitted.fitTime);
  }
}
