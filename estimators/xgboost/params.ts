/**
 * XGBoost estimator params: skein's camelCase names, their constraints, and the mapping to
 * XGBoost's snake_case names (the names Python's XGBClassifier passes to the booster, so the C++
 * side sees the same keys: `max_depth`, `reg_alpha`, `n_jobs`, `random_state`, ...).
 */
import type { ConstraintTable, Params } from "../base.js";
import type { BoosterParams, ParamValue } from "./booster.js";

const int0 = { type: "number", integer: true, min: 0 } as const;
const nonNeg = { type: "number", min: 0 } as const;
const fraction = { type: "number", min: 0, max: 1, minExclusive: true } as const;
const str = { type: "string" } as const;
const arr = { type: "array" } as const;

/** Params of the sklearn-style wrapper that are not booster params. */
export const WRAPPER_PARAMS = new Set(["nEstimators", "earlyStoppingRounds", "importanceType", "missing"]);

export const XGB_CONSTRAINTS: ConstraintTable = {
  nEstimators: int0,
  earlyStoppingRounds: { type: "number", integer: true, min: 1 },
  importanceType: { type: "enum", values: ["gain", "weight", "cover", "total_gain", "total_cover"] },
  // NaN is XGBoost's default and is not a "number" to the constraint checker: checked in fit.
  missing: { type: "any" },
  objective: str,
  booster: { type: "enum", values: ["gbtree", "gblinear", "dart"] },
  treeMethod: { type: "enum", values: ["auto", "exact", "approx", "hist"] },
  evalMetric: [str, arr],
  maxDepth: int0,
  maxLeaves: int0,
  maxBin: { type: "number", integer: true, min: 2 },
  growPolicy: { type: "enum", values: ["depthwise", "lossguide"] },
  learningRate: nonNeg,
  eta: nonNeg,
  verbosity: { type: "number", integer: true, min: 0, max: 3 },
  nJobs: { type: "number", integer: true },
  nthread: { type: "number", integer: true },
  gamma: nonNeg,
  minChildWeight: nonNeg,
  maxDeltaStep: nonNeg,
  subsample: fraction,
  samplingMethod: { type: "enum", values: ["uniform", "gradient_based"] },
  colsampleBytree: fraction,
  colsampleBylevel: fraction,
  colsampleBynode: fraction,
  regAlpha: nonNeg,
  regLambda: nonNeg,
  scalePosWeight: nonNeg,
  baseScore: { type: "number" },
  randomState: { type: "number", integer: true },
  seed: { type: "number", integer: true },
  numParallelTree: { type: "number", integer: true, min: 1 },
  monotoneConstraints: [str, arr],
  interactionConstraints: [str, arr],
  tweedieVariancePower: { type: "number", min: 1, max: 2, minExclusive: true, maxExclusive: true },
  huberSlope: nonNeg,
  rateDrop: { type: "number", min: 0, max: 1 },
  skipDrop: { type: "number", min: 0, max: 1 },
  validateParameters: { type: "boolean" },
};

/** `max_depth` -> `maxDepth`; camelCase names are returned unchanged. */
export function toCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** `maxDepth` -> `max_depth`. */
export function toSnake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Params with snake_case keys renamed to camelCase (so both spellings are accepted). */
export function normalizeKeys(params: Params): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(params)) out[toCamel(k)] = v;
  return out;
}

/** An array param XGBoost takes as a tuple string: [1, -1] -> "(1,-1)", [[0, 1], [2]] -> "[[0,1],[2]]". */
function constraintString(name: string, v: unknown[]): string {
  if (name === "interactionConstraints") return JSON.stringify(v);
  return `(${v.join(",")})`;
}

/** The booster params (snake_case) for the wrapper params, leaving out wrapper-only ones. */
export function boosterParams(params: Params): BoosterParams {
  const out: BoosterParams = {};
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || WRAPPER_PARAMS.has(k)) continue;
    if (k === "evalMetric") {
      out.eval_metric = Array.isArray(v) ? (v as ParamValue[]) : (v as ParamValue);
    } else if (Array.isArray(v)) {
      out[toSnake(k)] = constraintString(k, v);
    } else {
      out[toSnake(k)] = v as ParamValue;
    }
  }
  return out;
}
