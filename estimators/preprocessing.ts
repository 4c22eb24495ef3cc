/**
 * Transformers on local matrices: StandardScaler, MinMaxScaler, SimpleImputer, OneHotEncoder,
 * PolynomialFeatures. Fitted state is plain data (Float64Arrays and numbers).
 */
import type { Matrix } from "../src/data/matrix.js";
import { BaseEstimator, PREFIX, registerEstimator, type ConstraintTable, type EstimatorTags, type FitOptions } from "./base.js";

function out(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

// ------------------------------------------------------------------ StandardScaler

export interface StandardScalerParams extends Record<string, unknown> {
  withMean: boolean;
  withStd: boolean;
}
interface ScaleState {
  nFeatures: number;
  mean: Float64Array;
  scale: Float64Array;
}

/** (x - mean) / std per column (population std; a constant column keeps scale 1), as sklearn's. */
export class StandardScaler extends BaseEstimator<StandardScalerParams, ScaleState> {
  static override readonly estimatorName: string = "StandardScaler";
  readonly tags: EstimatorTags = { transformer: true, sampleWeight: true };
  defaults(): StandardScalerParams {
    return { withMean: true, withStd: true };
  }
  constraints(): ConstraintTable {
    return { withMean: { type: "boolean" }, withStd: { type: "boolean" } };
  }
  protected fitState(X: Matrix, _y: Float64Array | undefined, opts: FitOptions): ScaleState {
    const { rows, cols, data } = X;
    const w = opts.sampleWeight;
    const mean = new Float64Array(cols);
    const scale = new Float64Array(cols).fill(1);
    let wsum = 0;
    for (let i = 0; i < rows; i++) {
      const wi = w ? w[i] : 1;
      wsum += wi;
      for (let j = 0; j < cols; j++) mean[j] += wi * data[i * cols + j];
    }
    for (let j = 0; j < cols; j++) mean[j] /= wsum;
    if (this.params.withStd) {
      const v = new Float64Array(cols);
      for (let i = 0; i < rows; i++) {
        const wi = w ? w[i] : 1;
        for (let j = 0; j < cols; j++) v[j] += wi * (data[i * cols + j] - mean[j]) ** 2;
      }
      for (let j = 0; j < cols; j++) {
        const s = Math.sqrt(v[j] / wsum);
        // sklearn treats variances at rounding level as zero: keep the column unscaled.
        scale[j] = s > 10 * Number.EPSILON * Math.max(1, Math.abs(mean[j])) ? s : 1;
      }
    }
    if (!this.params.withMean) mean.fill(0);
    return { nFeatures: cols, mean, scale };
  }
  transform(X: Matrix): Matrix {
    const s = this.fittedState("transform");
    this.checkPredictInput("transform", X, s.nFeatures);
    const o = out(X.rows, X.cols);
    const c = X.cols;
    for (let i = 0; i < X.rows; i++) for (let j = 0; j < c; j++) o.data[i * c + j] = (X.data[i * c + j] - s.mean[j]) / s.scale[j];
    return o;
  }
  inverseTransform(X: Matrix): Matrix {
    const s = this.fittedState("inverseTransform");
    this.checkPredictInput("inverseTransform", X, s.nFeatures);
    const o = out(X.rows, X.cols);
    const c = X.cols;
    for (let i = 0; i < X.rows; i++) for (let j = 0; j < c; j++) o.data[i * c + j] = X.data[i * c + j] * s.scale[j] + s.mean[j];
    return o;
  }
}

// ------------------------------------------------------------------ MinMaxScaler

export interface MinMaxScalerParams extends Record<string, unknown> {
  featureRange: [number, number];
  clip: boolean;
}
interface MinMaxState {
  nFeatures: number;
  dataMin: Float64Array;
  dataMax: Float64Array;
  scale: Float64Array;
  min: Float64Array;
}

/** x * scale + min mapping each column's [min, max] onto featureRange, as sklearn's. */
export class MinMaxScaler extends BaseEstimator<MinMaxScalerParams, MinMaxState> {
  static override readonly estimatorName: string = "MinMaxScaler";
  readonly tags: EstimatorTags = { transformer: true };
  defaults(): MinMaxScalerParams {
    return { featureRange: [0, 1], clip: false };
  }
  constraints(): ConstraintTable {
    return { featureRange: { type: "array" }, clip: { type: "boolean" } };
  }
  protected fitState(X: Matrix): MinMaxState {
    const fr = this.params.featureRange;
    if (fr.length !== 2 || typeof fr[0] !== "number" || typeof fr[1] !== "number" || !(fr[0] < fr[1])) {
      throw new RangeError(`${PREFIX} MinMaxScaler: parameter "featureRange" must be [lo, hi] with lo < hi, got ${JSON.stringify(fr)}`);
    }
    const { rows, cols, data } = X;
    const dataMin = new Float64Array(cols).fill(Infinity);
    const dataMax = new Float64Array(cols).fill(-Infinity);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const v = data[i * cols + j];
        if (v < dataMin[j]) dataMin[j] = v;
        if (v > dataMax[j]) dataMax[j] = v;
      }
    }
    const scale = new Float64Array(cols);
    const min = new Float64Array(cols);
    for (let j = 0; j < cols; j++) {
      const range = dataMax[j] - dataMin[j];
      scale[j] = (fr[1] - fr[0]) / (range === 0 ? 1 : range);
      min[j] = fr[0] - dataMin[j] * scale[j];
    }
    return { nFeatures: cols, dataMin, dataMax, scale, min };
  }
  transform(X: Matrix): Matrix {
    const s = this.fittedState("transform");
    this.checkPredictInput("transform", X, s.nFeatures);
    const [lo, hi] = this.params.featureRange;
    const clip = this.params.clip;
    const o = out(X.rows, X.cols);
    const c = X.cols;
    for (let i = 0; i < X.rows; i++) {
      for (let j = 0; j < c; j++) {
        let v = X.data[i * c + j] * s.scale[j] + s.min[j];
        if (clip) v = v < lo ? lo : v > hi ? hi : v;
        o.data[i * c + j] = v;
      }
    }
    return o;
  }
}

// ------------------------------------------------------------------ SimpleImputer

export interface SimpleImputerParams extends Record<string, unknown> {
  strategy: "mean" | "median" | "most_frequent" | "constant";
  fillValue: number | null;
}
interface ImputerState {
  nFeatures: number;
  statistics: Float64Array;
}

/**
 * Replaces NaN per column by its mean / median / most frequent value / fillValue. A column with
 * no observed value is filled with fillValue (0 when null); scikit-learn drops such columns.
 */
export class SimpleImputer extends BaseEstimator<SimpleImputerParams, ImputerState> {
  static override readonly estimatorName: string = "SimpleImputer";
  readonly tags: EstimatorTags = { transformer: true, allowNaN: true };
  defaults(): SimpleImputerParams {
    return { strategy: "mean", fillValue: null };
  }
  constraints(): ConstraintTable {
    return {
      strategy: { type: "enum", values: ["mean", "median", "most_frequent", "constant"] },
      fillValue: [{ type: "number" }, { type: "null" }],
    };
  }
  protected fitState(X: Matrix): ImputerState {
    const { rows, cols, data } = X;
    const stats = new Float64Array(cols);
    const fill = this.params.fillValue ?? 0;
    const col = new Float64Array(rows);
    for (let j = 0; j < cols; j++) {
      let n = 0;
      for (let i = 0; i < rows; i++) {
        const v = data[i * cols + j];
        if (!Number.isNaN(v)) col[n++] = v;
      }
      if (this.params.strategy === "constant" || n === 0) {
        stats[j] = fill;
        continue;
      }
      const vals = col.subarray(0, n);
      if (this.params.strategy === "mean") {
        let s = 0;
        for (let i = 0; i < n; i++) s += vals[i];
        stats[j] = s / n;
      } else {
        vals.sort();
        if (this.params.strategy === "median") stats[j] = n % 2 ? vals[(n - 1) >> 1] : (vals[n / 2 - 1] + vals[n / 2]) / 2;
        else {
          // most frequent; ties go to the smallest value, as scikit-learn's.
          let best = vals[0];
          let bestCount = 0;
          for (let i = 0; i < n; ) {
            let k = i;
            while (k < n && vals[k] === vals[i]) k++;
            if (k - i > bestCount) {
              bestCount = k - i;
              best = vals[i];
            }
            i = k;
          }
          stats[j] = best;
        }
      }
    }
    return { nFeatures: cols, statistics: stats };
  }
  transform(X: Matrix): Matrix {
    const s = this.fittedState("transform");
    this.checkPredictInput("transform", X, s.nFeatures);
    const o = out(X.rows, X.cols);
    const c = X.cols;
    for (let i = 0; i < X.rows * c; i++) {
      const v = X.data[i];
      o.data[i] = Number.isNaN(v) ? s.statistics[i % c] : v;
    }
    return o;
  }
}

// ------------------------------------------------------------------ OneHotEncoder

export interface OneHotEncoderParams extends Record<string, unknown> {
  handleUnknown: "error" | "ignore";
}
interface OneHotState {
  nFeatures: number;
  /** Sorted categories of each input column. */
  categories: Float64Array[];
}

/** One 0/1 column per (input column, category), categories sorted, as sklearn's (dense output). */
export class OneHotEncoder extends BaseEstimator<OneHotEncoderParams, OneHotState> {
  static override readonly estimatorName: string = "OneHotEncoder";
  readonly tags: EstimatorTags = { transformer: true };
  defaults(): OneHotEncoderParams {
    return { handleUnknown: "error" };
  }
  constraints(): ConstraintTable {
    return { handleUnknown: { type: "enum", values: ["error", "ignore"] } };
  }
  protected fitState(X: Matrix): OneHotState {
    const categories: Float64Array[] = [];
    for (let j = 0; j < X.cols; j++) {
      const seen = new Set<number>();
      for (let i = 0; i < X.rows; i++) seen.add(X.data[i * X.cols + j]);
      categories.push(Float64Array.from(seen).sort());
    }
    return { nFeatures: X.cols, categories };
  }
  transform(X: Matrix): Matrix {
    const s = this.fittedState("transform");
    this.checkPredictInput("transform", X, s.nFeatures);
    let width = 0;
    const offsets = new Int32Array(s.nFeatures);
    for (let j = 0; j < s.nFeatures; j++) {
      offsets[j] = width;
      width += s.categories[j].length;
    }
    const o = out(X.rows, width);
    for (let i = 0; i < X.rows; i++) {
      for (let j = 0; j < X.cols; j++) {
        const v = X.data[i * X.cols + j];
        const k = binarySearch(s.categories[j], v);
        if (k < 0) {
          if (this.params.handleUnknown === "error") {
            throw new RangeError(`${PREFIX} OneHotEncoder.transform: unknown category ${v} in column ${j} (row ${i}); pass handleUnknown: "ignore" to encode it as all zeros`);
          }
          continue;
        }
        o.data[i * width + offsets[j] + k] = 1;
      }
    }
    return o;
  }
}

function binarySearch(a: Float64Array, v: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] === v) return mid;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

// ------------------------------------------------------------------ PolynomialFeatures

export interface PolynomialFeaturesParams extends Record<string, unknown> {
  degree: number;
  interactionOnly: boolean;
  includeBias: boolean;
}
interface PolyState {
  nFeatures: number;
  /** Each output column: the input columns multiplied (empty: the bias). */
  powers: number[][];
}

/** Products of features up to `degree`, in scikit-learn's column order. */
export class PolynomialFeatures extends BaseEstimator<PolynomialFeaturesParams, PolyState> {
  static override readonly estimatorName: string = "PolynomialFeatures";
  // Accepts sample weights (so weighted pipelines can hold it): its fit depends only on the column count.
  readonly tags: EstimatorTags = { transformer: true, sampleWeight: true };
  defaults(): PolynomialFeaturesParams {
    return { degree: 2, interactionOnly: false, includeBias: true };
  }
  constraints(): ConstraintTable {
    return {
      degree: { type: "number", integer: true, min: 0 },
      interactionOnly: { type: "boolean" },
      includeBias: { type: "boolean" },
    };
  }
  protected fitState(X: Matrix): PolyState {
    const combos: number[][] = [];
    if (this.params.includeBias) combos.push([]);
    const n = X.cols;
    const rec = (start: number, left: number, acc: number[]): void => {
      if (left === 0) {
        combos.push(acc.slice());
        return;
      }
      for (let j = start; j < n; j++) {
        acc.push(j);
        rec(this.params.interactionOnly ? j + 1 : j, left - 1, acc);
        acc.pop();
      }
    };
    for (let d = 1; d <= this.params.degree; d++) rec(0, d, []);
    return { nFeatures: n, powers: combos };
  }
  transform(X: Matrix): Matrix {
    const s = this.fittedState("transform");
    this.checkPredictInput("transform", X, s.nFeatures);
    const w = s.powers.length;
    const o = out(X.rows, w);
    for (let i = 0; i < X.rows; i++) {
      const base = i * X.cols;
      for (let k = 0; k < w; k++) {
        const p = s.powers[k];
        let v = 1;
        for (let t = 0; t < p.length; t++) v *= X.data[base + p[t]];
        o.data[i * w + k] = v;
      }
    }
    return o;
  }
}

for (const cls of [StandardScaler, MinMaxScaler, SimpleImputer, OneHotEncoder, PolynomialFeatures]) registerEstimator(cls, import.meta.url);
