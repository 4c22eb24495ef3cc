import { describe, expect, test } from "vitest";
import {
  FAMILIES,
  GlmError,
  LocalProblem,
  log1pExp,
  lossGradHessInto,
  partitionLoss,
  partitionLossGrad,
  partitionLossGradHess,
  sigmoid,
  splitRows,
  sumLossGrads,
  thetaLength,
  validatePartition,
} from "../solvers/index.js";
import type { FamilyName, KernelSpec, Partition } from "../solvers/index.js";

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function makePartition(family: FamilyName, n: number, p: number, K: number, seed: number, weights: boolean): Partition {
  const r = rng(seed);
  const X = new Float64Array(n * p);
  for (let i = 0; i < X.length; i++) X[i] = (r() - 0.5) * 4;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (family === "logistic") y[i] = r() < 0.4 ? 1 : 0;
    else if (family === "normal") y[i] = (r() - 0.5) * 6;
    else if (family === "poisson") y[i] = Math.floor(r() * 5);
    else y[i] = Math.floor(r() * K);
  }
  const part: Partition = { X: { rows: n, cols: p, data: X }, y };
  if (!weights) return part;
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.25 + r() * 2;
  return { ...part, w };
}

function specFor(family: FamilyName, fitIntercept: boolean, K: number): KernelSpec {
  return family === "multinomial" ? { family, fitIntercept, nClasses: K } : { family, fitIntercept };
}

/** Naive reference: one row at a time from the scalar definitions (softmax written out). */
function naiveLoss(part: Partition, spec: KernelSpec, theta: Float64Array): number {
  const { X, y, w } = part;
  const p = X.cols;
  const K = spec.family === "multinomial" ? spec.nClasses! : 1;
  let total = 0;
  for (let i = 0; i < X.rows; i++) {
    const eta: number[] = [];
    for (let k = 0; k < K; k++) {
      let e = spec.fitIntercept ? theta[p * K + k] : 0;
      for (let j = 0; j < p; j++) e += X.data[i * p + j] * theta[j * K + k];
      eta.push(e);
    }
    const wi = w === undefined ? 1 : w[i];
    if (spec.family === "multinomial") {
      const m = Math.max(...eta);
      const lse = m + Math.log(eta.reduce((s, e) => s + Math.exp(e - m), 0));
      total += wi * (lse - eta[y[i]]);
    } else {
      total += wi * FAMILIES[spec.family].loss(y[i], eta[0]);
    }
  }
  return total;
}

function randomTheta(d: number, seed: number, scale: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: d }, () => (r() - 0.5) * scale);
}

const cases: [FamilyName, number][] = [
  ["logistic", 1],
  ["normal", 1],
  ["poisson", 1],
  ["multinomial", 3],
];

describe("kernels against the naive reference and finite differences", () => {
  for (const [family, K] of cases) {
    for (const fitIntercept of [false, true]) {
      for (const weights of [false, true]) {
        const label = `${family} fitIntercept=${fitIntercept} weights=${weights}`;
        // 600 rows: more than two 256-row blocks, with a partial last block.
        const part = makePartition(family, 600, 7, K, 11, weights);
        const spec = specFor(family, fitIntercept, K);
        const d = thetaLength(7, spec);
        const theta = randomTheta(d, 5, family === "poisson" ? 0.3 : 1);

        test(`${label}: loss equals the row-by-row definition`, () => {
          const ref = naiveLoss(part, spec, theta);
          expect(Math.abs(partitionLoss(part, spec, theta) - ref)).toBeLessThan(1e-12 * Math.abs(ref));
          expect(Math.abs(partitionLossGrad(part, spec, theta).loss - ref)).toBeLessThan(1e-12 * Math.abs(ref));
        });

        test(`${label}: gradient matches central differences of the loss`, () => {
          const { grad } = partitionLossGrad(part, spec, theta);
          for (let j = 0; j < d; j++) {
            const h = 1e-6;
            const tp = Float64Array.from(theta);
            const tm = Float64Array.from(theta);
            tp[j] += h;
            tm[j] -= h;
            const fd = (naiveLoss(part, spec, tp) - naiveLoss(part, spec, tm)) / (2 * h);
            expect(Math.abs(grad[j] - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
          }
        });

        test(`${label}: Hessian is symmetric and matches differences of the gradient`, () => {
          const { grad, hess, loss } = partitionLossGradHess(part, spec, theta);
          const lg = partitionLossGrad(part, spec, theta);
          expect(loss).toBe(lg.loss);
          expect(Array.from(grad)).toEqual(Array.from(lg.grad));
          for (let a = 0; a < d; a++) {
            for (let b = 0; b < d; b++) expect(hess[a * d + b]).toBe(hess[b * d + a]);
            const h = 1e-6;
            const tp = Float64Array.from(theta);
            const tm = Float64Array.from(theta);
            tp[a] += h;
            tm[a] -= h;
            const gp = partitionLossGrad(part, spec, tp).grad;
            const gm = partitionLossGrad(part, spec, tm).grad;
            for (let b = 0; b < d; b++) {
              const fd = (gp[b] - gm[b]) / (2 * h);
              expect(Math.abs(hess[a * d + b] - fd)).toBeLessThan(1e-5 * Math.max(1, Math.abs(fd)));
            }
          }
        });

        test(`${label}: sums over 4 partitions equal the whole`, async () => {
          const whole = partitionLossGradHess(part, spec, theta);
          const parts = splitRows(part.X, part.y, part.w, 4);
          const sum = sumLossGrads(
            parts.map((q) => partitionLossGrad(q, spec, theta)),
            d,
          );
          expect(Math.abs(sum.loss - whole.loss)).toBeLessThan(1e-12 * Math.abs(whole.loss));
          for (let j = 0; j < d; j++) expect(Math.abs(sum.grad[j] - whole.grad[j])).toBeLessThan(1e-10);
          const problem = new LocalProblem(parts, spec);
          const viaProblem = await problem.lossGradHess(theta);
          for (let k = 0; k < d * d; k++) expect(Math.abs(viaProblem.hess[k] - whole.hess[k])).toBeLessThan(1e-9);
          expect(problem.nRows).toBe(600);
        });
      }
    }
  }

  test("Into variants accumulate into the caller's arrays", () => {
    const part = makePartition("logistic", 300, 4, 1, 3, true);
    const spec = specFor("logistic", true, 1);
    const theta = randomTheta(5, 2, 1);
    const once = partitionLossGradHess(part, spec, theta);
    const g = new Float64Array(5);
    const H = new Float64Array(25);
    const l1 = lossGradHessInto(part, spec, theta, g, H);
    const l2 = lossGradHessInto(part, spec, theta, g, H);
    expect(l1).toBe(once.loss);
    expect(l2).toBe(once.loss);
    for (let j = 0; j < 5; j++) expect(g[j]).toBeCloseTo(2 * once.grad[j], 12);
    for (let k = 0; k < 25; k++) expect(H[k]).toBeCloseTo(2 * once.hess[k], 12);
  });
});

describe("numerical stability", () => {
  test("log1pExp and sigmoid stay finite and exact at the extremes", () => {
    expect(log1pExp(1000)).toBe(1000);
    expect(log1pExp(-1000)).toBe(0);
    expect(log1pExp(-40)).toBeCloseTo(Math.exp(-40), 300);
    expect(log1pExp(0)).toBe(Math.LN2);
    expect(sigmoid(1000)).toBe(1);
    expect(sigmoid(-1000)).toBe(0);
    expect(sigmoid(-40)).toBeCloseTo(Math.exp(-40), 300);
  });

  test("logistic loss and gradient with |eta| = 1000 are finite", () => {
    const part: Partition = { X: { rows: 2, cols: 1, data: Float64Array.of(1000, -1000) }, y: Float64Array.of(0, 1) };
    const r = partitionLossGradHess(part, { family: "logistic", fitIntercept: false }, Float64Array.of(1));
    expect(r.loss).toBe(2000); // log(1+e^1000) - 0 + log(1+e^-1000)... = 1000 + 1000
    expect(Array.from(r.grad)).toEqual([2000]); // 1000*(1-0) + (-1000)*(0-1)
    expect(r.hess[0]).toBe(0);
  });

  test("multinomial loss with eta = 1000 is finite (logsumexp with the max subtracted)", () => {
    const part: Partition = { X: { rows: 1, cols: 1, data: Float64Array.of(1) }, y: Float64Array.of(1) };
    const spec: KernelSpec = { family: "multinomial", fitIntercept: false, nClasses: 2 };
    const r = partitionLossGrad(part, spec, Float64Array.of(1000, 0));
    expect(r.loss).toBe(1000);
    expect(Array.from(r.grad)).toEqual([1, -1]);
  });
});

describe("validation", () => {
  const spec: KernelSpec = { family: "poisson", fitIntercept: true };
  const good = (): Partition => ({
    X: { rows: 3, cols: 2, data: Float64Array.of(1, 2, 3, 4, 5, 6) },
    y: Float64Array.of(0, 1, 2),
  });

  test("returns rows and weight sums", () => {
    expect(validatePartition(good(), 0, spec)).toEqual({ rows: 3, sumWeights: 3 });
    expect(validatePartition({ ...good(), w: Float64Array.of(0.5, 0, 2) }, 0, spec)).toEqual({ rows: 3, sumWeights: 2.5 });
  });

  test.each([
    [Number.NaN, "NaN"],
    [Infinity, "Infinity"],
    [-Infinity, "-Infinity"],
  ])("X value %s names partition, column and row", (bad, shown) => {
    const part = good();
    part.X.data[5] = bad;
    expect(() => validatePartition(part, 2, spec)).toThrow(new GlmError(`glm: column 1 of partition 2 has ${shown} at row 2`));
  });

  test("NaN in X through LocalProblem names the partition it is in", () => {
    const X = new Float64Array(40).fill(0.5);
    X[2 * 4 + 3] = Number.NaN; // row 2, column 3 -> partition 1 (rows 2..3), local row 0
    const parts = splitRows({ rows: 10, cols: 4, data: X }, new Float64Array(10), undefined, 5);
    expect(() => new LocalProblem(parts, spec)).toThrow("glm: column 3 of partition 1 has NaN at row 0");
  });

  test("Poisson y < 0", () => {
    const part = good();
    part.y[2] = -3;
    expect(() => validatePartition(part, 2, spec)).toThrow(
      new GlmError("glm: y value -3 in partition 2 row 2 is outside the Poisson family's domain (y >= 0)"),
    );
  });

  test("logistic y not in {0, 1}", () => {
    const part = good();
    part.y[1] = 2;
    expect(() => validatePartition(part, 0, { family: "logistic", fitIntercept: false })).toThrow(
      "glm: y value 2 in partition 0 row 1 is outside the Logistic family's domain (y in {0, 1})",
    );
  });

  test("multinomial class index out of range or fractional", () => {
    const mspec: KernelSpec = { family: "multinomial", fitIntercept: false, nClasses: 3 };
    const part = good();
    part.y[0] = 3;
    expect(() => validatePartition(part, 1, mspec)).toThrow(
      "glm: y value 3 in partition 1 row 0 is outside the Multinomial family's domain (y in {0, ..., 2})",
    );
    part.y[0] = 0.5;
    expect(() => validatePartition(part, 1, mspec)).toThrow("glm: y value 0.5 in partition 1 row 0");
    expect(() => validatePartition(good(), 0, { family: "multinomial", fitIntercept: false })).toThrow(
      "glm: the multinomial family needs nClasses >= 2, got undefined",
    );
  });

  test("normal y NaN", () => {
    const part = good();
    part.y[0] = Number.NaN;
    expect(() => validatePartition(part, 0, { family: "normal", fitIntercept: false })).toThrow(
      "glm: y value NaN in partition 0 row 0 is outside the Normal family's domain (y finite)",
    );
  });

  test("negative or non-finite sample weights", () => {
    expect(() => validatePartition({ ...good(), w: Float64Array.of(1, -1, 1) }, 4, spec)).toThrow(
      "glm: sample weight -1 in partition 4 row 1 is not a finite number >= 0",
    );
    expect(() => validatePartition({ ...good(), w: Float64Array.of(1, 1, Number.NaN) }, 0, spec)).toThrow(
      "glm: sample weight NaN in partition 0 row 2 is not a finite number >= 0",
    );
  });

  test("shape mismatches", () => {
    expect(() => validatePartition(good(), 1, spec, 3)).toThrow("glm: partition 1 has 2 columns, expected 3");
    expect(() => validatePartition({ ...good(), y: Float64Array.of(1) }, 0, spec)).toThrow(
      "glm: partition 0 has 3 rows in X but 1 values in y",
    );
    expect(() => validatePartition({ ...good(), w: Float64Array.of(1) }, 0, spec)).toThrow(
      "glm: partition 0 has 3 rows in X but 1 sample weights",
    );
    expect(() =>
      validatePartition({ X: { rows: 3, cols: 2, data: new Float64Array(5) }, y: new Float64Array(3) }, 0, spec),
    ).toThrow("glm: partition 0: X.data has 5 values, expected rows*cols = 6");
    expect(() => partitionLoss(good(), spec, new Float64Array(2))).toThrow(
      "glm: theta has length 2, expected 3 (p=2, K=1, fitIntercept=true)",
    );
    expect(() => new LocalProblem([], spec)).toThrow("glm: a problem needs at least one partition");
  });
});
