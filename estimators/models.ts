/**
 * Small exact reference models: RidgeRegression (closed form) and NearestCentroid. They exercise
 * the estimator contract and the searches before the distributed GLM estimators.
 */
import { Matrix as MlMatrix, solve } from "ml-matrix";
import type { Matrix } from "../src/data/matrix.js";
import { BaseEstimator, PREFIX, registerEstimator, type ConstraintTable, type EstimatorTags, type FitOptions } from "./base.js";

export interface RidgeParams extends Record<string, unknown> {
  alpha: number;
  fitIntercept: boolean;
}
interface RidgeState {
  coef: Float64Array;
  intercept: number;
}

/**
 * Least squares with an L2 penalty alpha * |w|^2 (intercept not penalised), solved exactly from
 * the (weighted) normal equations: scikit-learn's Ridge objective.
 */
export class RidgeRegression extends BaseEstimator<RidgeParams, RidgeState> {
  static override readonly estimatorName: string = "RidgeRegression";
  readonly tags: EstimatorTags = { regressor: true, sampleWeight: true };
  defaults(): RidgeParams {
    return { alpha: 1, fitIntercept: true };
  }
  constraints(): ConstraintTable {
    return { alpha: { type: "number", min: 0 }, fitIntercept: { type: "boolean" } };
  }
  protected fitState(X: Matrix, y: Float64Array | undefined, opts: FitOptions): RidgeState {
    const yy = y!;
    const { rows: n, cols: p, data } = X;
    const w = opts.sampleWeight;
    const xMean = new Float64Array(p);
    let yMean = 0;
    if (this.params.fitIntercept) {
      let ws = 0;
      for (let i = 0; i < n; i++) {
        const wi = w ? w[i] : 1;
        ws += wi;
        yMean += wi * yy[i];
        for (let j = 0; j < p; j++) xMean[j] += wi * data[i * p + j];
      }
      yMean /= ws;
      for (let j = 0; j < p; j++) xMean[j] /= ws;
    }
    const A = new Float64Array(p * p);
    const b = new Float64Array(p);
    const xi = new Float64Array(p);
    for (let i = 0; i < n; i++) {
      const wi = w ? w[i] : 1;
      for (let j = 0; j < p; j++) xi[j] = data[i * p + j] - xMean[j];
      const r = yy[i] - yMean;
      for (let j = 0; j < p; j++) {
        const a = wi * xi[j];
        b[j] += a * r;
        for (let k = j; k < p; k++) A[j * p + k] += a * xi[k];
      }
    }
    for (let j = 0; j < p; j++) {
      A[j * p + j] += this.params.alpha;
      for (let k = 0; k < j; k++) A[j * p + k] = A[k * p + j];
    }
    const rowsA: number[][] = [];
    for (let j = 0; j < p; j++) rowsA.push(Array.from(A.subarray(j * p, j * p + p)));
    // solve() uses LU, or least squares (QR / SVD) when singular (alpha = 0 with collinear columns).
    const sol = solve(new MlMatrix(rowsA), MlMatrix.columnVector(Array.from(b)), true);
    const coef = Float64Array.from(sol.getColumn(0));
    let intercept = 0;
    if (this.params.fitIntercept) {
      intercept = yMean;
      for (let j = 0; j < p; j++) intercept -= xMean[j] * coef[j];
    }
    return { coef, intercept };
  }
  predict(X: Matrix): Float64Array {
    const s = this.fittedState("predict");
    this.checkPredictInput("predict", X, s.coef.length);
    const p = X.cols;
    const out = new Float64Array(X.rows);
    for (let i = 0; i < X.rows; i++) {
      let v = s.intercept;
      for (let j = 0; j < p; j++) v += X.data[i * p + j] * s.coef[j];
      out[i] = v;
    }
    return out;
  }
  get coef(): Float64Array {
    return this.fittedState("coef").coef;
  }
  get intercept(): number {
    return this.fittedState("intercept").intercept;
  }
}

export interface NearestCentroidParams extends Record<string, unknown> {
  shrinkThreshold: number | null;
}
interface CentroidState {
  classes: Float64Array;
  /** nClasses x nFeatures, row-major. */
  centroids: Float64Array;
  nFeatures: number;
}

/**
 * Each class is represented by the mean of its training rows; predict picks the nearest
 * (Euclidean) centroid, ties to the first class. predictProba is softmax(-squared distance), a
 * smooth score for roc_auc / log loss (skein's choice; scikit-learn's differs in scaling).
 */
export class NearestCentroid extends BaseEstimator<NearestCentroidParams, CentroidState> {
  static override readonly estimatorName: string = "NearestCentroid";
  readonly tags: EstimatorTags = { classifier: true };
  defaults(): NearestCentroidParams {
    return { shrinkThreshold: null };
  }
  constraints(): ConstraintTable {
    return { shrinkThreshold: [{ type: "null" }, { type: "number", min: 0 }] };
  }
  protected fitState(X: Matrix, y: Float64Array | undefined): CentroidState {
    const yy = y!;
    const classes = Float64Array.from(new Set(yy)).sort();
    if (classes.length < 2) throw new RangeError(`${PREFIX} NearestCentroid.fit: y has ${classes.length} class; at least 2 are needed`);
    const p = X.cols;
    const k = classes.length;
    const centroids = new Float64Array(k * p);
    const counts = new Float64Array(k);
    const index = new Map<number, number>();
    classes.forEach((c, i) => index.set(c, i));
    for (let i = 0; i < X.rows; i++) {
      const c = index.get(yy[i])!;
      counts[c]++;
      for (let j = 0; j < p; j++) centroids[c * p + j] += X.data[i * p + j];
    }
    for (let c = 0; c < k; c++) for (let j = 0; j < p; j++) centroids[c * p + j] /= counts[c];
    const t = this.params.shrinkThreshold;
    if (t !== null && t > 0) shrink(X, yy, index, centroids, counts, t);
    return { classes, centroids, nFeatures: p };
  }
  classes(): Float64Array {
    return this.fittedState("classes").classes;
  }
  private sqDistances(X: Matrix, method: string): { d: Float64Array; k: number } {
    const s = this.fittedState(method);
    this.checkPredictInput(method, X, s.nFeatures);
    const k = s.classes.length;
    const p = X.cols;
    const d = new Float64Array(X.rows * k);
    for (let i = 0; i < X.rows; i++) {
      for (let c = 0; c < k; c++) {
        let acc = 0;
        for (let j = 0; j < p; j++) acc += (X.data[i * p + j] - s.centroids[c * p + j]) ** 2;
        d[i * k + c] = acc;
      }
    }
    return { d, k };
  }
  predict(X: Matrix): Float64Array {
    const { d, k } = this.sqDistances(X, "predict");
    const classes = this.state!.classes;
    const out = new Float64Array(X.rows);
    for (let i = 0; i < X.rows; i++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (d[i * k + c] < d[i * k + best]) best = c;
      out[i] = classes[best];
    }
    return out;
  }
  predictProba(X: Matrix): Matrix {
    const { d, k } = this.sqDistances(X, "predictProba");
    for (let i = 0; i < X.rows; i++) {
      let m = Infinity;
      for (let c = 0; c < k; c++) m = Math.min(m, d[i * k + c]);
      let s = 0;
      for (let c = 0; c < k; c++) {
        const e = Math.exp(-(d[i * k + c] - m));
        d[i * k + c] = e;
        s += e;
      }
      for (let c = 0; c < k; c++) d[i * k + c] /= s;
    }
    return { rows: X.rows, cols: k, data: d };
  }
}

/** Nearest shrunken centroids (Tibshirani et al.), as scikit-learn's shrink_threshold. */
function shrink(X: Matrix, y: Float64Array, index: Map<number, number>, centroids: Float64Array, counts: Float64Array, t: number): void {
  const n = X.rows;
  const p = X.cols;
  const k = counts.length;
  const mean = new Float64Array(p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) mean[j] += X.data[i * p + j] / n;
  const variance = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const c = index.get(y[i])!;
    for (let j = 0; j < p; j++) variance[j] += (X.data[i * p + j] - centroids[c * p + j]) ** 2;
  }
  const s = new Float64Array(p);
  for (let j = 0; j < p; j++) s[j] = Math.sqrt(variance[j] / (n - k));
  const sorted = Float64Array.from(s).sort();
  const med = p % 2 ? sorted[(p - 1) >> 1] : (sorted[p / 2 - 1] + sorted[p / 2]) / 2;
  for (let j = 0; j < p; j++) s[j] += med;
  for (let c = 0; c < k; c++) {
    const m = Math.sqrt(1 / counts[c] - 1 / n);
    for (let j = 0; j < p; j++) {
      const ms = m * s[j];
      let dev = (centroids[c * p + j] - mean[j]) / ms;
      const sign = Math.sign(dev);
      dev = Math.max(Math.abs(dev) - t, 0) * sign;
      centroids[c * p + j] = mean[j] + ms * dev;
    }
  }
}

for (const cls of [RidgeRegression, NearestCentroid]) registerEstimator(cls, import.meta.url);
