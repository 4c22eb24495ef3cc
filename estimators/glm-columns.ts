/**
 * Column-wise prediction for the GLM estimators (their `predictColumns`): scores computed from
 * the feature columns of a Frame partition as they come out of Parquet, without first copying
 * them into a row-major matrix. On 16 float64 features that copy cost more than the dot
 * products themselves (about 27 vs 15 ns a row); here the scores take about 10 ns a row.
 * The scores and the binary and exp links run in the wasm SIMD kernels (kernels/glm-simd.ts),
 * which give the same bits as the loops below in about half the time; the loops remain for
 * where wasm SIMD is unavailable.
 */
import { PREFIX } from "./base.js";
import { GlmSimd } from "./kernels/glm-simd.js";

/** Rows per pass: the scores of a pass (8 KiB per coefficient row) stay in L1. */
const PASS = 1024;

let scratch = new Float64Array(PASS);

function scores(size: number): Float64Array {
  if (scratch.length < size) scratch = new Float64Array(size);
  return scratch;
}

/**
 * eta[i] = b + sum_j w[wAt + j] * x[j][lo + i] for i < hi - lo. Four columns per sweep over
 * eta: a quarter of the loads and stores of a column-at-a-time axpy. The terms are added one
 * at a time in column order, as the row-major predict adds them, so both give the same bits.
 */
function linearColumns(x: readonly Float64Array[], w: Float64Array, wAt: number, b: number, lo: number, hi: number, eta: Float64Array, etaAt: number): void {
  const n = hi - lo;
  const p = x.length;
  eta.fill(b, etaAt, etaAt + n);
  let j = 0;
  for (; j + 4 <= p; j += 4) {
    const c0 = x[j];
    const c1 = x[j + 1];
    const c2 = x[j + 2];
    const c3 = x[j + 3];
    const w0 = w[wAt + j];
    const w1 = w[wAt + j + 1];
    const w2 = w[wAt + j + 2];
    const w3 = w[wAt + j + 3];
    for (let i = 0; i < n; i++) {
      const r = lo + i;
      let e = eta[etaAt + i];
      e += w0 * c0[r];
      e += w1 * c1[r];
      e += w2 * c2[r];
      e += w3 * c3[r];
      eta[etaAt + i] = e;
    }
  }
  for (; j < p; j++) {
    const c = x[j];
    const wj = w[wAt + j];
    for (let i = 0; i < n; i++) eta[etaAt + i] += wj * c[lo + i];
  }
}

/**
 * A non-finite score means a non-finite feature (NaN and infinities propagate through the sum)
 * or, rarely, an overflow of finite ones: find which, and refuse the first as checkXY does.
 */
function checkScores(owner: string, method: string, x: readonly Float64Array[], eta: Float64Array, etaAt: number, lo: number, hi: number): void {
  for (let i = 0; i < hi - lo; i++) {
    const z = eta[etaAt + i];
    if (z - z === 0) continue;
    for (let j = 0; j < x.length; j++) {
      const v = x[j][lo + i];
      if (!Number.isFinite(v)) throw new RangeError(`${PREFIX} ${owner}.${method}: X has a non-finite value (${v}) at row ${lo + i}, column ${j}`);
    }
  }
}

function checkShape(owner: string, method: string, x: readonly Float64Array[], lo: number, hi: number, nFeatures: number): void {
  if (x.length !== nFeatures) throw new RangeError(`${PREFIX} ${owner}.${method}: X has ${x.length} columns, the estimator was fitted on ${nFeatures}`);
  for (const c of x) {
    if (!(c instanceof Float64Array) || c.length < hi || lo < 0 || lo > hi) {
      throw new RangeError(`${PREFIX} ${owner}.${method}: feature columns must be Float64Arrays holding rows ${lo}..${hi}`);
    }
  }
}

export interface LogisticColumns {
  classes: Float64Array;
  coef: Float64Array;
  intercept: Float64Array;
  mode: "binary" | "multinomial" | "ovr";
}

/** LogisticRegression's predict (outs: 1 array) or predictProba (outs: one per class). */
export function logisticColumns(owner: string, s: LogisticColumns, method: "predict" | "predictProba", x: readonly Float64Array[], lo: number, hi: number, outs: readonly Float64Array[]): boolean {
  const K = s.classes.length;
  if (outs.length !== (method === "predict" ? 1 : K)) return false;
  const rows = s.intercept.length;
  const p = s.coef.length / rows;
  checkShape(owner, method, x, lo, hi, p);
  const simd = GlmSimd.open(x, s.coef, rows, PASS);
  try {
    logisticBlocks(owner, s, method, x, lo, hi, outs, simd);
  } finally {
    simd?.close();
  }
  return true;
}

function logisticBlocks(owner: string, s: LogisticColumns, method: "predict" | "predictProba", x: readonly Float64Array[], lo: number, hi: number, outs: readonly Float64Array[], simd: GlmSimd | undefined): void {
  const K = s.classes.length;
  const rows = s.intercept.length;
  const p = x.length;
  const eta = simd ? simd.eta : scores(rows * PASS);
  const stride = simd ? simd.stride : PASS;
  for (let a = lo; a < hi; a += PASS) {
    const b = Math.min(hi, a + PASS);
    const n = b - a;
    simd?.load(a, n);
    for (let k = 0; k < rows; k++) {
      if (simd) {
        if (!simd.scores(k, s.intercept[k], n)) checkScores(owner, method, x, eta, k * stride, a, b);
      } else {
        linearColumns(x, s.coef, k * p, s.intercept[k], a, b, eta, k * stride);
        checkScores(owner, method, x, eta, k * stride, a, b);
      }
    }
    if (rows === 1) {
      if (method === "predict") {
        const o = outs[0];
        const c0 = s.classes[0];
        const c1 = s.classes[1];
        for (let i = 0; i < n; i++) o[a + i] = eta[i] > 0 ? c1 : c0;
      } else if (simd) {
        simd.expit(n, outs[0], outs[1], a);
      } else {
        const o0 = outs[0];
        const o1 = outs[1];
        for (let i = 0; i < n; i++) {
          const z = eta[i];
          const e = Math.exp(-Math.abs(z));
          const q = z >= 0 ? 1 / (1 + e) : e / (1 + e);
          o1[a + i] = q;
          o0[a + i] = 1 - q;
        }
      }
      continue;
    }
    for (let i = 0; i < n; i++) {
      if (method === "predict") {
        let best = 0;
        for (let k = 1; k < rows; k++) if (eta[k * stride + i] > eta[best * stride + i]) best = k;
        outs[0][a + i] = s.classes[best];
        continue;
      }
      let sum = 0;
      if (s.mode === "ovr") {
        for (let k = 0; k < K; k++) {
          const z = eta[k * stride + i];
          const e = Math.exp(-Math.abs(z));
          sum += outs[k][a + i] = z >= 0 ? 1 / (1 + e) : e / (1 + e);
        }
      } else {
        let m = -Infinity;
        for (let k = 0; k < K; k++) m = Math.max(m, eta[k * stride + i]);
        for (let k = 0; k < K; k++) sum += outs[k][a + i] = Math.exp(eta[k * stride + i] - m);
      }
      for (let k = 0; k < K; k++) outs[k][a + i] /= sum;
    }
  }
}

/** A GLM regressor's predict: the inverse link of X coef + intercept ("identity" or "exp"). */
export function regressorColumns(owner: string, coef: Float64Array, intercept: number, link: "identity" | "exp", x: readonly Float64Array[], lo: number, hi: number, out: Float64Array): void {
  checkShape(owner, "predict", x, lo, hi, coef.length);
  const simd = GlmSimd.open(x, coef, 1, PASS);
  if (!simd) {
    for (let a = lo; a < hi; a += PASS) {
      const b = Math.min(hi, a + PASS);
      linearColumns(x, coef, 0, intercept, a, b, out, a);
      checkScores(owner, "predict", x, out, a, a, b);
      if (link === "exp") for (let i = a; i < b; i++) out[i] = Math.exp(out[i]);
    }
    return;
  }
  try {
    for (let a = lo; a < hi; a += PASS) {
      const n = Math.min(hi, a + PASS) - a;
      simd.load(a, n);
      if (!simd.scores(0, intercept, n)) checkScores(owner, "predict", x, simd.eta, 0, a, a + n);
      if (link === "exp") simd.expInPlace(n);
      out.set(simd.eta.subarray(0, n), a);
    }
  } finally {
    simd.close();
  }
}
