/**
 * Per-partition kernels: validation, loss, loss + gradient, loss + gradient + Hessian. They are
 * plain exported functions of (partition, spec, theta) returning plain data, so the same code
 * runs in-process (LocalProblem) or as a task on the worker that holds the partition.
 *
 * Rows are processed in blocks: (1) eta for the block, (2) the family's block function fills
 * the weighted derivatives (one dispatch per block), (3) gradient / Hessian accumulate over the
 * block while its rows are still in cache. The intercept is the implicit column x_p = 1; X is
 * never copied. No per-row allocation, no closures in the loops.
 */
import { GlmError } from "./errors.js";
import { FAMILIES, blockMultinomial } from "./families.js";
import type { KernelSpec, LossGrad, LossGradHess, Partition, PartitionStats } from "./types.js";

const BLOCK = 256;

/** K: 1, or the number of classes for multinomial. */
export function nOutputs(spec: KernelSpec): number {
  if (spec.family !== "multinomial") return 1;
  const K = spec.nClasses;
  if (K === undefined || !Number.isInteger(K) || K < 2) {
    throw new GlmError(`glm: the multinomial family needs nClasses >= 2, got ${K}`);
  }
  return K;
}

/** Length d of theta: (p + intercept) * K. */
export function thetaLength(p: number, spec: KernelSpec): number {
  return (p + (spec.fitIntercept ? 1 : 0)) * nOutputs(spec);
}

function describe(v: number): string {
  return Number.isNaN(v) ? "NaN" : String(v);
}

/**
 * Checks shapes, X finite, y in the family's domain and weights >= 0; returns row count and
 * weight sum. `p`, when given, is the column count every partition must have.
 */
export function validatePartition(part: Partition, index: number, spec: KernelSpec, p?: number): PartitionStats {
  const { X, y, w } = part;
  const n = X.rows;
  const cols = X.cols;
  if (p !== undefined && cols !== p) {
    throw new GlmError(`glm: partition ${index} has ${cols} columns, expected ${p}`);
  }
  if (X.data.length !== n * cols) {
    throw new GlmError(`glm: partition ${index}: X.data has ${X.data.length} values, expected rows*cols = ${n * cols}`);
  }
  if (y.length !== n) {
    throw new GlmError(`glm: partition ${index} has ${n} rows in X but ${y.length} values in y`);
  }
  if (w !== undefined && w.length !== n) {
    throw new GlmError(`glm: partition ${index} has ${n} rows in X but ${w.length} sample weights`);
  }
  const x = X.data;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    // v - v is 0 for finite v and NaN for NaN / +-Infinity: one test for all three.
    if (v - v !== 0) {
      const row = Math.floor(i / cols);
      throw new GlmError(`glm: column ${i - row * cols} of partition ${index} has ${describe(v)} at row ${row}`);
    }
  }
  const family = FAMILIES[spec.family];
  const K = nOutputs(spec);
  for (let i = 0; i < n; i++) {
    if (!family.inDomain(y[i], K)) {
      throw new GlmError(
        `glm: y value ${describe(y[i])} in partition ${index} row ${i} is outside the ${family.title} family's domain (${family.domain(K)})`,
      );
    }
  }
  let sumWeights = n;
  if (w !== undefined) {
    sumWeights = 0;
    for (let i = 0; i < n; i++) {
      const v = w[i];
      if (!(v >= 0 && v < Infinity)) {
        throw new GlmError(`glm: sample weight ${describe(v)} in partition ${index} row ${i} is not a finite number >= 0`);
      }
      sumWeights += v;
    }
  }
  return { rows: n, sumWeights };
}

/** eta (block x K) = X_block B + b. */
function blockEta(
  x: Float64Array,
  r0: number,
  m: number,
  p: number,
  K: number,
  theta: Float64Array,
  fitIntercept: boolean,
  eta: Float64Array,
): void {
  if (K === 1) {
    const b0 = fitIntercept ? theta[p] : 0;
    for (let r = 0, o = r0 * p; r < m; r++, o += p) {
      let s = b0;
      for (let j = 0; j < p; j++) s += x[o + j] * theta[j];
      eta[r] = s;
    }
    return;
  }
  const ib = p * K;
  for (let r = 0, o = r0 * p, e = 0; r < m; r++, o += p, e += K) {
    for (let k = 0; k < K; k++) eta[e + k] = fitIntercept ? theta[ib + k] : 0;
    for (let j = 0, t = 0; j < p; j++, t += K) {
      const xj = x[o + j];
      for (let k = 0; k < K; k++) eta[e + k] += xj * theta[t + k];
    }
  }
}

/** grad += X~_block^T d (d is block x K). */
function blockGrad(
  x: Float64Array,
  r0: number,
  m: number,
  p: number,
  K: number,
  fitIntercept: boolean,
  d: Float64Array,
  grad: Float64Array,
): void {
  if (K === 1) {
    let gb = 0;
    for (let r = 0, o = r0 * p; r < m; r++, o += p) {
      const g = d[r];
      for (let j = 0; j < p; j++) grad[j] += g * x[o + j];
      gb += g;
    }
    if (fitIntercept) grad[p] += gb;
    return;
  }
  const ib = p * K;
  for (let r = 0, o = r0 * p, e = 0; r < m; r++, o += p, e += K) {
    for (let j = 0, t = 0; j < p; j++, t += K) {
      const xj = x[o + j];
      for (let k = 0; k < K; k++) grad[t + k] += xj * d[e + k];
    }
    if (fitIntercept) for (let k = 0; k < K; k++) grad[ib + k] += d[e + k];
  }
}

/**
 * Hessian of a block: for every class pair k <= c, the weighted Gram matrix
 * sum_r a_r x~_rj x~_rl (a_r = h_r for a single output, w_r (p_rk [k = c] - p_rk p_rc) for
 * multinomial) over augmented features j <= l, added to H at ((j,k), (l,c)). The caller mirrors
 * the lower triangle.
 */
function blockHess(
  x: Float64Array,
  r0: number,
  m: number,
  p: number,
  K: number,
  fitIntercept: boolean,
  w: Float64Array | undefined,
  hOrP: Float64Array,
  a: Float64Array,
  colSum: Float64Array,
  H: Float64Array,
  dim: number,
): void {
  for (let k = 0; k < K; k++) {
    for (let c = k; c < K; c++) {
      if (K === 1) {
        for (let r = 0; r < m; r++) a[r] = hOrP[r];
      } else {
        for (let r = 0, e = 0; r < m; r++, e += K) {
          const wr = w === undefined ? 1 : w[r0 + r];
          const pk = hOrP[e + k];
          a[r] = wr * (k === c ? pk - pk * pk : -pk * hOrP[e + c]);
        }
      }
      weightedGram(x, r0 * p, m, p, a, H, dim, K, k, c);
      if (fitIntercept) {
        // Intercept row/column: sum_r a_r x_rj and sum_r a_r.
        colSum.fill(0);
        let s = 0;
        for (let r = 0, o = r0 * p; r < m; r++, o += p) {
          const ar = a[r];
          s += ar;
          for (let j = 0; j < p; j++) colSum[j] += ar * x[o + j];
        }
        for (let j = 0; j < p; j++) addHess(H, dim, K, j, p, k, c, colSum[j]);
        addHess(H, dim, K, p, p, k, c, s);
      }
    }
  }
}

/**
 * sum_r a_r x_rj x_rl for 0 <= j <= l < p over a row-major block starting at offset o0, added
 * to H through addHess. Register-blocked 2 x 4: per row, two weighted x_j and four x_l (all in
 * the same cache line or two) feed eight independent sums, so loads per multiply-add drop to
 * 3/4 and no store happens inside the row loop. Entries below the diagonal that the blocking
 * computes on the way are written to the lower triangle, which the caller ignores.
 */
function weightedGram(
  x: Float64Array,
  o0: number,
  m: number,
  p: number,
  a: Float64Array,
  H: Float64Array,
  dim: number,
  K: number,
  k: number,
  c: number,
): void {
  let j = 0;
  for (; j + 1 < p; j += 2) {
    let l = j;
    for (; l + 3 < p; l += 4) {
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let b0 = 0;
      let b1 = 0;
      let b2 = 0;
      let b3 = 0;
      for (let r = 0, o = o0; r < m; r++, o += p) {
        const ar = a[r];
        const ha = ar * x[o + j];
        const hb = ar * x[o + j + 1];
        const x0 = x[o + l];
        const x1 = x[o + l + 1];
        const x2 = x[o + l + 2];
        const x3 = x[o + l + 3];
        a0 += ha * x0;
        a1 += ha * x1;
        a2 += ha * x2;
        a3 += ha * x3;
        b0 += hb * x0;
        b1 += hb * x1;
        b2 += hb * x2;
        b3 += hb * x3;
      }
      addHess(H, dim, K, j, l, k, c, a0);
      addHess(H, dim, K, j, l + 1, k, c, a1);
      addHess(H, dim, K, j, l + 2, k, c, a2);
      addHess(H, dim, K, j, l + 3, k, c, a3);
      addHess(H, dim, K, j + 1, l, k, c, b0);
      addHess(H, dim, K, j + 1, l + 1, k, c, b1);
      addHess(H, dim, K, j + 1, l + 2, k, c, b2);
      addHess(H, dim, K, j + 1, l + 3, k, c, b3);
    }
    for (; l < p; l++) {
      let sa = 0;
      let sb = 0;
      for (let r = 0, o = o0; r < m; r++, o += p) {
        const hx = a[r] * x[o + l];
        sa += hx * x[o + j];
        sb += hx * x[o + j + 1];
      }
      addHess(H, dim, K, j, l, k, c, sa);
      addHess(H, dim, K, j + 1, l, k, c, sb);
    }
  }
  for (; j < p; j++) {
    for (let l = j; l < p; l++) {
      let sa = 0;
      for (let r = 0, o = o0; r < m; r++, o += p) sa += a[r] * x[o + j] * x[o + l];
      addHess(H, dim, K, j, l, k, c, sa);
    }
  }
}

/** H[(j,k),(l,c)] += v and, for c != k, H[(j,c),(l,k)] += v (A is symmetric in k, c). */
function addHess(H: Float64Array, dim: number, K: number, j: number, l: number, k: number, c: number, v: number): void {
  H[(j * K + k) * dim + l * K + c] += v;
  if (c !== k) H[(j * K + c) * dim + l * K + k] += v;
}

/**
 * The one pass behind every kernel: returns sum_i w_i loss_i and, when given, adds the gradient
 * into grad and the (full, symmetric) Hessian into hess.
 */
function pass(
  part: Partition,
  spec: KernelSpec,
  theta: Float64Array,
  grad: Float64Array | null,
  hess: Float64Array | null,
): number {
  const { X, y, w } = part;
  const n = X.rows;
  const p = X.cols;
  const x = X.data;
  const K = nOutputs(spec);
  const fi = spec.fitIntercept;
  const dim = (p + (fi ? 1 : 0)) * K;
  if (theta.length !== dim) {
    throw new GlmError(`glm: theta has length ${theta.length}, expected ${dim} (p=${p}, K=${K}, fitIntercept=${fi})`);
  }
  const block = FAMILIES[spec.family].block;
  const eta = new Float64Array(BLOCK * K);
  const d = new Float64Array(BLOCK * K);
  const h = hess !== null ? new Float64Array(BLOCK * K) : null;
  const a = hess !== null ? new Float64Array(BLOCK) : null;
  const colSum = hess !== null ? new Float64Array(p) : null;
  const H = hess !== null ? new Float64Array(dim * dim) : null;
  let loss = 0;
  for (let r0 = 0; r0 < n; r0 += BLOCK) {
    const m = Math.min(BLOCK, n - r0);
    blockEta(x, r0, m, p, K, theta, fi, eta);
    loss += block !== null ? block(eta, y, w, r0, m, d, h) : blockMultinomial(eta, y, w, r0, m, K, d, h);
    if (grad !== null) blockGrad(x, r0, m, p, K, fi, d, grad);
    if (H !== null) blockHess(x, r0, m, p, K, fi, w, h!, a!, colSum!, H, dim);
  }
  if (H !== null) {
    for (let a = 0; a < dim; a++) {
      hess![a * dim + a] += H[a * dim + a];
      for (let b = a + 1; b < dim; b++) {
        const v = H[a * dim + b];
        hess![a * dim + b] += v;
        hess![b * dim + a] += v;
      }
    }
  }
  return loss;
}

/** sum_i w_i loss_i on one partition. */
export function partitionLoss(part: Partition, spec: KernelSpec, theta: Float64Array): number {
  return pass(part, spec, theta, null, null);
}

/** Adds the partition's gradient into grad; returns its loss. */
export function lossGradInto(part: Partition, spec: KernelSpec, theta: Float64Array, grad: Float64Array): number {
  return pass(part, spec, theta, grad, null);
}

/** Adds the partition's gradient and Hessian into grad and hess; returns its loss. */
export function lossGradHessInto(
  part: Partition,
  spec: KernelSpec,
  theta: Float64Array,
  grad: Float64Array,
  hess: Float64Array,
): number {
  return pass(part, spec, theta, grad, hess);
}

/** Loss and gradient of one partition (the task form: fresh arrays, plain data). */
export function partitionLossGrad(part: Partition, spec: KernelSpec, theta: Float64Array): LossGrad {
  const grad = new Float64Array(theta.length);
  const loss = pass(part, spec, theta, grad, null);
  return { loss, grad };
}

/** Loss, gradient and Hessian of one partition (the task form). */
export function partitionLossGradHess(part: Partition, spec: KernelSpec, theta: Float64Array): LossGradHess {
  const d = theta.length;
  const grad = new Float64Array(d);
  const hess = new Float64Array(d * d);
  const loss = pass(part, spec, theta, grad, hess);
  return { loss, grad, hess };
}

/** Sums per-partition results (what the client does with the tasks' outputs). */
export function sumLossGrads(parts: readonly LossGrad[], d: number): LossGrad {
  const grad = new Float64Array(d);
  let loss = 0;
  for (const r of parts) {
    loss += r.loss;
    for (let j = 0; j < d; j++) grad[j] += r.grad[j];
  }
  return { loss, grad };
}

/** Sums per-partition results with Hessians (Newton's pass over the partitions). */
export function sumLossGradHesses(parts: readonly LossGradHess[], d: number): LossGradHess {
  const { loss, grad } = sumLossGrads(parts, d);
  const hess = new Float64Array(d * d);
  for (const r of parts) {
    for (let k = 0; k < d * d; k++) hess[k] += r.hess[k];
  }
  return { loss, grad, hess };
}
