/**
 * Metrics on Float64Array targets, as scikit-learn's sklearn.metrics, and named scorers
 * (greater is better: losses are negated, as sklearn's "neg_*" scorers).
 */
import type { Matrix } from "../src/data/matrix.js";
import { PREFIX, r2Score, type Estimator } from "./base.js";

type Vec = ArrayLike<number>;
export type Average = "binary" | "macro" | "micro" | "weighted";

function sameLength(name: string, a: Vec, b: Vec): void {
  if (a.length !== b.length) throw new RangeError(`${PREFIX} ${name}: yTrue has ${a.length} values, yPred has ${b.length}`);
  if (a.length === 0) throw new RangeError(`${PREFIX} ${name}: empty input`);
}

function sortedLabels(...vs: Vec[]): number[] {
  const s = new Set<number>();
  for (const v of vs) for (let i = 0; i < v.length; i++) s.add(v[i]);
  return [...s].sort((a, b) => a - b);
}

export function accuracyScore(yTrue: Vec, yPred: Vec): number {
  sameLength("accuracyScore", yTrue, yPred);
  let ok = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) ok++;
  return ok / yTrue.length;
}

/** Mean of the per-class recalls (classes of yTrue). */
export function balancedAccuracyScore(yTrue: Vec, yPred: Vec): number {
  sameLength("balancedAccuracyScore", yTrue, yPred);
  const labels = sortedLabels(yTrue);
  let s = 0;
  for (const c of labels) {
    let tp = 0;
    let n = 0;
    for (let i = 0; i < yTrue.length; i++) {
      if (yTrue[i] === c) {
        n++;
        if (yPred[i] === c) tp++;
      }
    }
    s += tp / n;
  }
  return s / labels.length;
}

interface Counts {
  labels: number[];
  tp: number[];
  fp: number[];
  fn: number[];
  support: number[];
}

function counts(name: string, yTrue: Vec, yPred: Vec): Counts {
  sameLength(name, yTrue, yPred);
  const labels = sortedLabels(yTrue, yPred);
  const idx = new Map<number, number>();
  labels.forEach((l, i) => idx.set(l, i));
  const k = labels.length;
  const tp = new Array<number>(k).fill(0);
  const fp = new Array<number>(k).fill(0);
  const fn = new Array<number>(k).fill(0);
  const support = new Array<number>(k).fill(0);
  for (let i = 0; i < yTrue.length; i++) {
    const t = idx.get(yTrue[i])!;
    const p = idx.get(yPred[i])!;
    support[t]++;
    if (t === p) tp[t]++;
    else {
      fp[p]++;
      fn[t]++;
    }
  }
  return { labels, tp, fp, fn, support };
}

/** 0 where the denominator is 0, as sklearn's zero_division="warn" value. */
function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

function prf(name: string, which: "precision" | "recall" | "f1", yTrue: Vec, yPred: Vec, average: Average, posLabel: number): number {
  const c = counts(name, yTrue, yPred);
  const per = (tp: number, fp: number, fn: number): number => {
    if (which === "precision") return ratio(tp, tp + fp);
    if (which === "recall") return ratio(tp, tp + fn);
    return ratio(2 * tp, 2 * tp + fp + fn);
  };
  if (average === "binary") {
    if (c.labels.length > 2 || (c.labels.length === 2 && !c.labels.includes(posLabel))) {
      throw new RangeError(
        `${PREFIX} ${name}: average "binary" needs two classes including posLabel ${posLabel}, got labels ${c.labels.join(", ")}; pass average "macro", "micro" or "weighted"`,
      );
    }
    const i = c.labels.indexOf(posLabel);
    if (i < 0) return 0;
    return per(c.tp[i], c.fp[i], c.fn[i]);
  }
  if (average === "micro") {
    const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);
    return per(sum(c.tp), sum(c.fp), sum(c.fn));
  }
  let s = 0;
  let wsum = 0;
  for (let i = 0; i < c.labels.length; i++) {
    const w = average === "weighted" ? c.support[i] : 1;
    s += w * per(c.tp[i], c.fp[i], c.fn[i]);
    wsum += w;
  }
  return ratio(s, wsum);
}

export interface ClassMetricOptions {
  average?: Average;
  posLabel?: number;
}

export function precisionScore(yTrue: Vec, yPred: Vec, opts: ClassMetricOptions = {}): number {
  return prf("precisionScore", "precision", yTrue, yPred, opts.average ?? "binary", opts.posLabel ?? 1);
}
export function recallScore(yTrue: Vec, yPred: Vec, opts: ClassMetricOptions = {}): number {
  return prf("recallScore", "recall", yTrue, yPred, opts.average ?? "binary", opts.posLabel ?? 1);
}
export function f1Score(yTrue: Vec, yPred: Vec, opts: ClassMetricOptions = {}): number {
  return prf("f1Score", "f1", yTrue, yPred, opts.average ?? "binary", opts.posLabel ?? 1);
}

/** Area under the ROC curve for a binary target (the larger label is positive); ties count 1/2. */
export function rocAucScore(yTrue: Vec, score: Vec): number {
  sameLength("rocAucScore", yTrue, score);
  const labels = sortedLabels(yTrue);
  if (labels.length !== 2) throw new RangeError(`${PREFIX} rocAucScore: needs exactly 2 classes in yTrue, got ${labels.length} (${labels.join(", ")})`);
  const pos = labels[1];
  const n = yTrue.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[a] - score[b]);
  // Mann-Whitney U with average ranks for ties.
  let rankSumPos = 0;
  let nPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j < n && score[order[j]] === score[order[i]]) j++;
    const avgRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) {
      if (yTrue[order[k]] === pos) {
        rankSumPos += avgRank;
        nPos++;
      }
    }
    i = j;
  }
  const nNeg = n - nPos;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * Cross-entropy. `proba` is rows x classes, columns in the order of `labels` (sorted labels of
 * yTrue when omitted); probabilities are clipped to [eps, 1 - eps] and rows renormalised.
 */
export function logLoss(yTrue: Vec, proba: Matrix, labels?: ArrayLike<number>): number {
  const labs = labels ? Array.from(labels) : sortedLabels(yTrue);
  if (proba.rows !== yTrue.length) throw new RangeError(`${PREFIX} logLoss: yTrue has ${yTrue.length} values, proba has ${proba.rows} rows`);
  if (proba.cols !== labs.length) throw new RangeError(`${PREFIX} logLoss: proba has ${proba.cols} columns for ${labs.length} labels`);
  const idx = new Map<number, number>();
  labs.forEach((l, i) => idx.set(l, i));
  const eps = 2.220446049250313e-16;
  let s = 0;
  const k = proba.cols;
  for (let i = 0; i < proba.rows; i++) {
    const c = idx.get(yTrue[i]);
    if (c === undefined) throw new RangeError(`${PREFIX} logLoss: label ${yTrue[i]} is not among the labels ${labs.join(", ")}`);
    let rowSum = 0;
    for (let j = 0; j < k; j++) rowSum += Math.min(Math.max(proba.data[i * k + j], eps), 1 - eps);
    const p = Math.min(Math.max(proba.data[i * k + c], eps), 1 - eps) / rowSum;
    s -= Math.log(p);
  }
  return s / proba.rows;
}

export { r2Score };

export function meanSquaredError(yTrue: Vec, yPred: Vec): number {
  sameLength("meanSquaredError", yTrue, yPred);
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) s += (yTrue[i] - yPred[i]) ** 2;
  return s / yTrue.length;
}

export function meanAbsoluteError(yTrue: Vec, yPred: Vec): number {
  sameLength("meanAbsoluteError", yTrue, yPred);
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) s += Math.abs(yTrue[i] - yPred[i]);
  return s / yTrue.length;
}

// ------------------------------------------------------------------ scorers

/** A scorer: greater is better. */
export type Scorer = (est: Estimator, X: Matrix, y: Float64Array) => number;

function need<K extends "predict" | "predictProba">(est: Estimator, method: K, scorer: string): NonNullable<Estimator[K]> {
  const f = est[method];
  if (!f) throw new TypeError(`${PREFIX} scorer "${scorer}": ${est.estimatorType} has no ${method}()`);
  return f.bind(est) as NonNullable<Estimator[K]>;
}

function positiveProba(est: Estimator, X: Matrix, scorer: string): Float64Array {
  const p = need(est, "predictProba", scorer)(X);
  if (p.cols !== 2) throw new RangeError(`${PREFIX} scorer "${scorer}": needs a binary classifier, predictProba gave ${p.cols} columns`);
  const out = new Float64Array(p.rows);
  for (let i = 0; i < p.rows; i++) out[i] = p.data[i * 2 + 1];
  return out;
}

const predicted =
  (name: string, f: (y: Vec, p: Vec) => number, sign = 1): Scorer =>
  (est, X, y) =>
    sign * f(y, need(est, "predict", name)(X));

export const SCORERS: Readonly<Record<string, Scorer>> = {
  accuracy: predicted("accuracy", accuracyScore),
  balanced_accuracy: predicted("balanced_accuracy", balancedAccuracyScore),
  f1: predicted("f1", (y, p) => f1Score(y, p)),
  f1_macro: predicted("f1_macro", (y, p) => f1Score(y, p, { average: "macro" })),
  f1_micro: predicted("f1_micro", (y, p) => f1Score(y, p, { average: "micro" })),
  f1_weighted: predicted("f1_weighted", (y, p) => f1Score(y, p, { average: "weighted" })),
  precision: predicted("precision", (y, p) => precisionScore(y, p)),
  precision_macro: predicted("precision_macro", (y, p) => precisionScore(y, p, { average: "macro" })),
  recall: predicted("recall", (y, p) => recallScore(y, p)),
  recall_macro: predicted("recall_macro", (y, p) => recallScore(y, p, { average: "macro" })),
  roc_auc: (est, X, y) => rocAucScore(y, positiveProba(est, X, "roc_auc")),
  neg_log_loss: (est, X, y) => -logLoss(y, need(est, "predictProba", "neg_log_loss")(X), est.classes ? est.classes() : undefined),
  r2: predicted("r2", r2Score),
  neg_mean_squared_error: predicted("neg_mean_squared_error", meanSquaredError, -1),
  neg_mean_absolute_error: predicted("neg_mean_absolute_error", meanAbsoluteError, -1),
};

/** The scorer named `name`; the error lists the names that exist. */
export function getScorer(name: string): Scorer {
  const s = Object.prototype.hasOwnProperty.call(SCORERS, name) ? SCORERS[name] : undefined;
  if (!s) throw new RangeError(`${PREFIX} unknown scorer "${name}"; known scorers: ${Object.keys(SCORERS).join(", ")}`);
  return s;
}

/** est.score as a scorer (accuracy for classifiers, r2 for regressors): sklearn's scoring=None. */
export const defaultScorer: Scorer = (est, X, y) => est.score(X, y);
