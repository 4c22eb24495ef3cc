/**
 * Small dense helpers for d-sized vectors and the d x d systems of Newton steps. Decompositions
 * come from ml-matrix; only vector arithmetic is written here.
 */
import { CholeskyDecomposition, Matrix } from "ml-matrix";
import { GlmError } from "./errors.js";

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm2(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

export function normInf(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m || v !== v) m = v; // NaN propagates
  }
  return m;
}

/** out = a + t * b (out may alias a). */
export function axpyInto(out: Float64Array, a: Float64Array, t: number, b: Float64Array): Float64Array {
  for (let i = 0; i < a.length; i++) out[i] = a[i] + t * b[i];
  return out;
}

/** max_i |a_i - b_i| */
export function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i] - b[i]);
    if (v > m) m = v;
  }
  return m;
}

/**
 * Solves A x = b for a symmetric positive-definite A (n x n row-major) with ml-matrix's
 * Cholesky (of (A + A^T)/2); null when A is not positive definite.
 */
export function choleskySolve(A: Float64Array, n: number, b: Float64Array): Float64Array | null {
  // ml-matrix refuses a matrix that is not exactly symmetric: average away rounding asymmetry.
  const M = new Matrix(n, n);
  for (let i = 0; i < n; i++) {
    M.set(i, i, A[i * n + i]);
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * (A[i * n + j] + A[j * n + i]);
      M.set(i, j, v);
      M.set(j, i, v);
    }
  }
  const chol = new CholeskyDecomposition(M);
  if (!chol.isPositiveDefinite()) return null;
  const x = chol.solve(Matrix.columnVector(b));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = x.get(i, 0);
  return out;
}

/**
 * Solves (A + mu I) x = b with the smallest mu in {0, 1e-12, 1e-10, ...} * max(diag A) that
 * makes the matrix positive definite (Levenberg damping for singular or indefinite Hessians,
 * e.g. a constant column next to an unpenalised intercept).
 */
export function dampedSolve(A: Float64Array, n: number, b: Float64Array): Float64Array {
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(A[i * n + i]));
  if (!(scale > 0)) scale = 1;
  const first = choleskySolve(A, n, b);
  if (first !== null && first.every(Number.isFinite)) return first;
  const B = new Float64Array(A);
  for (let mu = 1e-12; mu < 1e12; mu *= 100) {
    for (let i = 0; i < n; i++) B[i * n + i] = A[i * n + i] + mu * scale;
    const x = choleskySolve(B, n, b);
    if (x !== null && x.every(Number.isFinite)) return x;
  }
  // Unreachable for a finite symmetric A: mu * scale eventually dominates.
  throw new GlmError(`glm: could not solve the ${n} x ${n} Newton system (non-finite Hessian?)`);
}
