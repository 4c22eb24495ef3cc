/**
 * GLM families: link functions, numerically stable losses and their derivatives in eta (the
 * linear predictor), and the domain of y.
 *
 * Each family has scalar functions (reference implementations, and what prediction uses) and a
 * block function that the kernels call once per block of rows: it fills the weighted first and
 * second derivatives of the loss for the whole block, so the family dispatch happens per block,
 * never per element.
 */
import { GlmError } from "./errors.js";
import type { FamilyName } from "./types.js";

/** Weighted derivatives of a block of rows for a single-output family. */
export type BlockDerivs = (
  eta: Float64Array, // block-local linear predictors, length n
  y: Float64Array, // partition-level labels
  w: Float64Array | undefined, // partition-level weights
  row0: number, // first row of the block in the partition
  n: number,
  d: Float64Array, // out: w_i * dloss/deta
  h: Float64Array | null, // out: w_i * d2loss/deta2
) => number; // returns sum_i w_i loss_i over the block

export interface Family {
  readonly name: FamilyName;
  /** Capitalised name used in messages ("Poisson"). */
  readonly title: string;
  /** The domain of y, as printed in errors ("y >= 0"). */
  domain(nClasses: number): string;
  /** True when y is a valid label. */
  inDomain(y: number, nClasses: number): boolean;
  /** Mean from the linear predictor (single-output families). */
  inverseLink(eta: number): number;
  link(mu: number): number;
  /** loss(y, eta) without terms constant in eta. */
  loss(y: number, eta: number): number;
  dLoss(y: number, eta: number): number;
  d2Loss(y: number, eta: number): number;
  /** Block kernel (single-output families); multinomial has its own, see blockMultinomial. */
  readonly block: BlockDerivs | null;
}

/** log(1 + e^x) without overflow or loss of precision for large |x|. */
export function log1pExp(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** The logistic sigmoid, stable on both sides. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

const blockLogistic: BlockDerivs = (eta, y, w, row0, n, d, h) => {
  let loss = 0;
  for (let r = 0; r < n; r++) {
    const e = eta[r];
    const yi = y[row0 + r];
    const wi = w === undefined ? 1 : w[row0 + r];
    // a = e^-|eta| in (0, 1]: log(1+e^eta) = max(eta, 0) + log1p(a); sigmoid from the same a.
    const a = Math.exp(-Math.abs(e));
    const inv = 1 / (1 + a);
    loss += wi * ((e > 0 ? e : 0) + Math.log1p(a) - yi * e);
    const s = e >= 0 ? inv : a * inv;
    d[r] = wi * (s - yi);
    if (h !== null) h[r] = wi * a * inv * inv; // s(1-s) = a / (1+a)^2
  }
  return loss;
};

const blockNormal: BlockDerivs = (eta, y, w, row0, n, d, h) => {
  let loss = 0;
  for (let r = 0; r < n; r++) {
    const res = eta[r] - y[row0 + r];
    const wi = w === undefined ? 1 : w[row0 + r];
    loss += 0.5 * wi * res * res;
    d[r] = wi * res;
    if (h !== null) h[r] = wi;
  }
  return loss;
};

const blockPoisson: BlockDerivs = (eta, y, w, row0, n, d, h) => {
  let loss = 0;
  for (let r = 0; r < n; r++) {
    const e = eta[r];
    const yi = y[row0 + r];
    const wi = w === undefined ? 1 : w[row0 + r];
    const mu = Math.exp(e);
    loss += wi * (mu - yi * e);
    d[r] = wi * (mu - yi);
    if (h !== null) h[r] = wi * mu;
  }
  return loss;
};

/**
 * Multinomial block: eta is n x K (row-major). Fills d (n x K) with w_i (p_ik - [y_i = k]) and,
 * when P is given, P (n x K) with the class probabilities p_ik. Loss is logsumexp(eta_i) -
 * eta_{i,y_i}, computed with the max subtracted.
 */
export function blockMultinomial(
  eta: Float64Array,
  y: Float64Array,
  w: Float64Array | undefined,
  row0: number,
  n: number,
  K: number,
  d: Float64Array,
  P: Float64Array | null,
): number {
  let loss = 0;
  for (let r = 0, o = 0; r < n; r++, o += K) {
    const yi = y[row0 + r];
    const wi = w === undefined ? 1 : w[row0 + r];
    let m = eta[o];
    for (let k = 1; k < K; k++) if (eta[o + k] > m) m = eta[o + k];
    let s = 0;
    for (let k = 0; k < K; k++) {
      const e = Math.exp(eta[o + k] - m);
      d[o + k] = e;
      s += e;
    }
    loss += wi * (m + Math.log(s) - eta[o + yi]);
    const inv = 1 / s;
    for (let k = 0; k < K; k++) {
      const pk = d[o + k] * inv;
      if (P !== null) P[o + k] = pk;
      d[o + k] = wi * (k === yi ? pk - 1 : pk);
    }
  }
  return loss;
}

export const Logistic: Family = {
  name: "logistic",
  title: "Logistic",
  domain: () => "y in {0, 1}",
  inDomain: (y) => y === 0 || y === 1,
  inverseLink: sigmoid,
  link: (mu) => Math.log(mu / (1 - mu)),
  loss: (y, eta) => log1pExp(eta) - y * eta,
  dLoss: (y, eta) => sigmoid(eta) - y,
  d2Loss: (_y, eta) => {
    const s = sigmoid(eta);
    return s * (1 - s);
  },
  block: blockLogistic,
};

export const Normal: Family = {
  name: "normal",
  title: "Normal",
  domain: () => "y finite",
  inDomain: (y) => Number.isFinite(y),
  inverseLink: (eta) => eta,
  link: (mu) => mu,
  loss: (y, eta) => 0.5 * (eta - y) * (eta - y),
  dLoss: (y, eta) => eta - y,
  d2Loss: () => 1,
  block: blockNormal,
};

export const Poisson: Family = {
  name: "poisson",
  title: "Poisson",
  domain: () => "y >= 0",
  inDomain: (y) => y >= 0 && y < Infinity,
  inverseLink: Math.exp,
  link: Math.log,
  loss: (y, eta) => Math.exp(eta) - y * eta,
  dLoss: (y, eta) => Math.exp(eta) - y,
  d2Loss: (_y, eta) => Math.exp(eta),
  block: blockPoisson,
};

/** Multinomial (softmax) over K classes; the scalar functions are not defined for it. */
export const Multinomial: Family = {
  name: "multinomial",
  title: "Multinomial",
  domain: (K) => `y in {0, ..., ${K - 1}}`,
  inDomain: (y, K) => Number.isInteger(y) && y >= 0 && y < K,
  inverseLink: () => {
    throw new GlmError("glm: the multinomial family has no scalar inverse link (use softmax)");
  },
  link: () => {
    throw new GlmError("glm: the multinomial family has no scalar link");
  },
  loss: () => {
    throw new GlmError("glm: the multinomial family has no scalar loss");
  },
  dLoss: () => {
    throw new GlmError("glm: the multinomial family has no scalar loss");
  },
  d2Loss: () => {
    throw new GlmError("glm: the multinomial family has no scalar loss");
  },
  block: null,
};

export const FAMILIES: Readonly<Record<FamilyName, Family>> = {
  logistic: Logistic,
  normal: Normal,
  poisson: Poisson,
  multinomial: Multinomial,
};

/** Softmax of one row of K linear predictors into out (max subtracted). */
export function softmaxInto(eta: Float64Array, offset: number, K: number, out: Float64Array, outOffset: number): void {
  let m = eta[offset];
  for (let k = 1; k < K; k++) if (eta[offset + k] > m) m = eta[offset + k];
  let s = 0;
  for (let k = 0; k < K; k++) {
    const e = Math.exp(eta[offset + k] - m);
    out[outOffset + k] = e;
    s += e;
  }
  for (let k = 0; k < K; k++) out[outOffset + k] /= s;
}
