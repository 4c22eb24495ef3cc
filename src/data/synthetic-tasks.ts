/**
 * Worker side of the synthetic data generators: rows [start, end) of a data set, each row
 * drawn from (seed, global row index) only, so any partitioning gives the same rows.
 */
import { normal, rowState, uniform } from "./random.js";
import { maskPartition } from "./partition.js";
import type { Column, FramePartition } from "./types.js";

/** Parameters derived from the seed (not per row): centres, coefficients. Row streams start above. */
const PARAM_ROW = 2 ** 52;

export interface ClassificationSpec {
  seed: number;
  nFeatures: number;
  nInformative: number;
  nClasses: number;
  classSep: number;
}

function features(nFeatures: number): string[] {
  return Array.from({ length: nFeatures }, (_, j) => `x${j}`);
}

/**
 * Centre of class c on informative feature j: a vertex of the +-classSep hypercube. Classes
 * take distinct vertices (an odd-stride walk from a seeded start) while there are enough of
 * them (2^nInformative >= nClasses); features beyond the 30th get seeded random signs.
 */
export function classCentre(seed: number, c: number, j: number, classSep: number, nInformative: number): number {
  if (j >= 30) return uniform(rowState(seed, PARAM_ROW + c), j) < 0.5 ? -classSep : classSep;
  const bitsUsed = Math.min(nInformative, 30);
  const size = 2 ** bitsUsed;
  const s = rowState(seed, PARAM_ROW);
  const start = Math.floor(uniform(s, 0) * size);
  const stride = 2 * Math.floor(uniform(s, 1) * (size / 2)) + 1;
  const v = (start + c * stride) % size;
  return Math.floor(v / 2 ** j) % 2 === 1 ? classSep : -classSep;
}

export function classificationTask(spec: ClassificationSpec, start: number, end: number): FramePartition {
  const n = end - start;
  const { seed, nFeatures, nInformative, nClasses, classSep } = spec;
  const cols = features(nFeatures).map(() => new Float64Array(n));
  const y = new Int32Array(n);
  const centres = new Float64Array(nClasses * nInformative);
  for (let c = 0; c < nClasses; c++) for (let j = 0; j < nInformative; j++) centres[c * nInformative + j] = classCentre(seed, c, j, classSep, nInformative);
  for (let i = 0; i < n; i++) {
    const s = rowState(seed, start + i);
    const c = Math.min(nClasses - 1, Math.floor(uniform(s, 0) * nClasses));
    y[i] = c;
    for (let j = 0; j < nFeatures; j++) cols[j][i] = normal(s, j + 1) + (j < nInformative ? centres[c * nInformative + j] : 0);
  }
  const columns = new Map<string, Column>();
  features(nFeatures).forEach((name, j) => columns.set(name, cols[j]));
  columns.set("y", y);
  return { rows: n, columns };
}

export interface RegressionSpec {
  seed: number;
  nFeatures: number;
  nInformative: number;
  noise: number;
  bias: number;
}

/** The true coefficients of makeRegression: uniform in [0, 100) for informative features, else 0. */
export function regressionCoef(seed: number, nFeatures: number, nInformative: number): Float64Array {
  const coef = new Float64Array(nFeatures);
  const s = rowState(seed, PARAM_ROW);
  for (let j = 0; j < nInformative; j++) coef[j] = 100 * uniform(s, j);
  return coef;
}

export function regressionTask(spec: RegressionSpec, start: number, end: number): FramePartition {
  const n = end - start;
  const { seed, nFeatures, nInformative, noise, bias } = spec;
  const coef = regressionCoef(seed, nFeatures, nInformative);
  const cols = features(nFeatures).map(() => new Float64Array(n));
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = rowState(seed, start + i);
    let t = bias;
    for (let j = 0; j < nFeatures; j++) {
      const x = normal(s, j);
      cols[j][i] = x;
      t += coef[j] * x;
    }
    y[i] = noise > 0 ? t + noise * normal(s, nFeatures) : t;
  }
  const columns = new Map<string, Column>();
  features(nFeatures).forEach((name, j) => columns.set(name, cols[j]));
  columns.set("y", y);
  return { rows: n, columns };
}

export interface BlobsSpec {
  seed: number;
  nFeatures: number;
  centers: number;
  clusterStd: number;
  box: [number, number];
}

export function blobCentre(spec: BlobsSpec, c: number, j: number): number {
  const [lo, hi] = spec.box;
  return lo + (hi - lo) * uniform(rowState(spec.seed, PARAM_ROW + 1 + c), j);
}

export function blobsTask(spec: BlobsSpec, start: number, end: number): FramePartition {
  const n = end - start;
  const { seed, nFeatures, centers, clusterStd } = spec;
  const centres = new Float64Array(centers * nFeatures);
  for (let c = 0; c < centers; c++) for (let j = 0; j < nFeatures; j++) centres[c * nFeatures + j] = blobCentre(spec, c, j);
  const cols = features(nFeatures).map(() => new Float64Array(n));
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const s = rowState(seed, start + i);
    const c = Math.min(centers - 1, Math.floor(uniform(s, 0) * centers));
    y[i] = c;
    for (let j = 0; j < nFeatures; j++) cols[j][i] = centres[c * nFeatures + j] + clusterStd * normal(s, j + 1);
  }
  const columns = new Map<string, Column>();
  features(nFeatures).forEach((name, j) => columns.set(name, cols[j]));
  columns.set("y", y);
  return { rows: n, columns };
}

/** The train (`test: false`) or test rows of a partition whose first row is global row `offset`. */
export function splitTask(p: FramePartition, offset: number, seed: number, testSize: number, test: boolean): FramePartition {
  const mask = new Uint8Array(p.rows);
  for (let i = 0; i < p.rows; i++) mask[i] = (uniform(rowState(seed, offset + i), 0) < testSize) === test ? 1 : 0;
  return maskPartition(p, mask);
}
