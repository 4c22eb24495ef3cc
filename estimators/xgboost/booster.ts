/**
 * Booster: an XGBoost model. Create it over the matrices it will train/evaluate on, set params,
 * update one round at a time, evaluate, predict, save to / load from JSON or UBJ bytes.
 */
import { check, num, readBytes, readF32, readStrings, readU64, xgb } from "./ffi.js";
import type { Handle, XGBoostLib } from "./ffi.js";
import type { DMatrix } from "./dmatrix.js";

export type ParamValue = string | number | boolean;
/** XGBoost params by their XGBoost (snake_case) names; an array sets the param once per value (eval_metric). */
export type BoosterParams = Record<string, ParamValue | readonly ParamValue[] | undefined>;

export type ModelFormat = "json" | "ubj";

export interface PredictOptions {
  /** Raw margins instead of transformed predictions. */
  outputMargin?: boolean;
  /** Trees from rounds [iterationBegin, iterationEnd); 0/0 = all. */
  iterationBegin?: number;
  iterationEnd?: number;
  /** Keep XGBoost's full output shape (rows x groups, ...). */
  strictShape?: boolean;
  training?: boolean;
  /** Other prediction kinds: contributions (SHAP), leaf indices. */
  predContribs?: boolean;
  predLeaf?: boolean;
}

export interface Prediction {
  values: Float32Array;
  shape: number[];
}

export type ImportanceType = "weight" | "gain" | "cover" | "total_gain" | "total_cover";

const registry = new FinalizationRegistry<{ lib: XGBoostLib; handle: Handle }>((h) => {
  h.lib.XGBoosterFree(h.handle);
});

function paramString(name: string, v: ParamValue): string {
  if (typeof v === "boolean") return v ? "1" : "0";
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "nan";
    return String(v);
  }
  if (typeof v !== "string") throw new TypeError(`skein xgboost: param ${name} has a value of type ${typeof v}`);
  return v;
}

export class Booster {
  private h: Handle | null;
  private readonly lib: XGBoostLib;

  private constructor(lib: XGBoostLib, handle: Handle) {
    this.lib = lib;
    this.h = handle;
    registry.register(this, { lib, handle }, this);
  }

  /**
   * A new booster caching `cache` (the training and evaluation matrices, as Python's
   * `Booster(params, [dtrain, *evals])`), with `validate_parameters` on, then `params`.
   */
  static create(params: BoosterParams = {}, cache: DMatrix[] = []): Booster {
    const lib = xgb();
    const out: (Handle | null)[] = [null];
    check(lib, lib.XGBoosterCreate(cache.map((d) => d.handle), cache.length, out));
    const b = new Booster(lib, out[0]!);
    try {
      b.setParam("validate_parameters", 1);
      b.setParams(params);
    } catch (e) {
      b.free();
      throw e;
    }
    return b;
  }

  /** A booster from a model saved by `save` (JSON or UBJ bytes; XGBoost detects which). */
  static load(model: Uint8Array): Booster {
    const b = Booster.create();
    try {
      b.loadModel(model);
    } catch (e) {
      b.free();
      throw e;
    }
    return b;
  }

  /** Replaces this booster's model with a saved one (JSON or UBJ bytes). */
  loadModel(model: Uint8Array): void {
    check(this.lib, this.lib.XGBoosterLoadModelFromBuffer(this.handle, model, model.byteLength));
  }

  get handle(): Handle {
    if (this.h === null) throw new Error("skein xgboost: this Booster has been freed");
    return this.h;
  }

  setParam(name: string, value: ParamValue): void {
    check(this.lib, this.lib.XGBoosterSetParam(this.handle, name, paramString(name, value)));
  }

  setParams(params: BoosterParams): void {
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const x of v as readonly ParamValue[]) this.setParam(k, x);
      else this.setParam(k, v as ParamValue);
    }
  }

  /** One boosting round on `dtrain` (round number `iteration`, from 0). */
  update(dtrain: DMatrix, iteration: number): void {
    check(this.lib, this.lib.XGBoosterUpdateOneIter(this.handle, iteration, dtrain.handle));
  }

  /** XGBoost's evaluation line, e.g. `[3]\ttrain-logloss:0.41\teval-logloss:0.43`. */
  evalSet(evals: readonly (readonly [DMatrix, string])[], iteration: number): string {
    const out: (string | null)[] = [null];
    const mats = evals.map((e) => e[0].handle);
    const names = evals.map((e) => e[1]);
    check(this.lib, this.lib.XGBoosterEvalOneIter(this.handle, iteration, mats, names, evals.length, out));
    return out[0] ?? "";
  }

  predict(dmat: DMatrix, opts: PredictOptions = {}): Prediction {
    let type = 0;
    if (opts.outputMargin) type = 1;
    if (opts.predContribs) type = 2;
    if (opts.predLeaf) type = 6;
    const config = JSON.stringify({
      type,
      training: opts.training ?? false,
      iteration_begin: opts.iterationBegin ?? 0,
      iteration_end: opts.iterationEnd ?? 0,
      strict_shape: opts.strictShape ?? false,
    });
    const shapePtr: unknown[] = [null];
    const dim: (number | bigint)[] = [0];
    const result: unknown[] = [null];
    check(this.lib, this.lib.XGBoosterPredictFromDMatrix(this.handle, dmat.handle, config, shapePtr, dim, result));
    const shape = readU64(this.lib, shapePtr[0], num(dim[0]));
    let n = 1;
    for (const s of shape) n *= s;
    return { values: readF32(this.lib, result[0], n), shape };
  }

  /** The model as bytes: "ubj" (Universal Binary JSON, compact) or "json". */
  save(format: ModelFormat = "ubj"): Uint8Array {
    const len: (number | bigint)[] = [0];
    const ptr: unknown[] = [null];
    check(this.lib, this.lib.XGBoosterSaveModelToBuffer(this.handle, `{"format":"${format}"}`, len, ptr));
    return readBytes(this.lib, ptr[0], num(len[0]));
  }

  /** The learner's configuration (objective, params) as XGBoost's JSON. */
  saveConfig(): Record<string, unknown> {
    const len: (number | bigint)[] = [0];
    const out: (string | null)[] = [null];
    check(this.lib, this.lib.XGBoosterSaveJsonConfig(this.handle, len, out));
    return JSON.parse(out[0] ?? "{}") as Record<string, unknown>;
  }

  boostedRounds(): number {
    const out = [0];
    check(this.lib, this.lib.XGBoosterBoostedRounds(this.handle, out));
    return out[0];
  }

  numFeatures(): number {
    const out: (number | bigint)[] = [0];
    check(this.lib, this.lib.XGBoosterGetNumFeature(this.handle, out));
    return num(out[0]);
  }

  setAttr(key: string, value: string | null): void {
    check(this.lib, this.lib.XGBoosterSetAttr(this.handle, key, value));
  }

  getAttr(key: string): string | undefined {
    const out: (string | null)[] = [null];
    const ok = [0];
    check(this.lib, this.lib.XGBoosterGetAttr(this.handle, key, out, ok));
    return ok[0] ? (out[0] ?? "") : undefined;
  }

  setFeatureNames(names: string[]): void {
    check(this.lib, this.lib.XGBoosterSetStrFeatureInfo(this.handle, "feature_name", names, names.length));
  }

  /**
   * Feature importance by feature name (only features used in a split appear, as in
   * Python's `get_score`). For multi-output models a feature maps to one score per group.
   */
  featureScore(importanceType: ImportanceType = "gain"): Map<string, number | number[]> {
    const n: (number | bigint)[] = [0];
    const feats: unknown[] = [null];
    const dim: (number | bigint)[] = [0];
    const shapePtr: unknown[] = [null];
    const scores: unknown[] = [null];
    const config = JSON.stringify({ importance_type: importanceType, feature_map: "" });
    check(this.lib, this.lib.XGBoosterFeatureScore(this.handle, config, n, feats, dim, shapePtr, scores));
    const nf = num(n[0]);
    const names = readStrings(this.lib, feats[0], nf);
    const shape = readU64(this.lib, shapePtr[0], num(dim[0]));
    let total = 1;
    for (const s of shape) total *= s;
    const values = readF32(this.lib, scores[0], total);
    const out = new Map<string, number | number[]>();
    const per = nf === 0 ? 0 : total / nf;
    for (let i = 0; i < nf; i++) {
      out.set(names[i], per === 1 ? values[i] : Array.from(values.subarray(i * per, (i + 1) * per)));
    }
    return out;
  }

  /** Releases the native booster now (otherwise when this object is collected). */
  free(): void {
    if (this.h === null) return;
    registry.unregister(this);
    const h = this.h;
    this.h = null;
    check(this.lib, this.lib.XGBoosterFree(h));
  }
}
