import { describe, expect, test } from "vitest";
import { GlmError, Regularizer, UnsupportedPenaltyError, checkSupport, makeRegularizer, SOLVER_SUPPORT } from "../solvers/index.js";
import type { PenaltyName, SolverName } from "../solvers/index.js";

/**
 * prox by its definition: argmin_x t R(x) + (x - v)^2 / 2 for one coordinate, by golden-section
 * search on a bracket (the objective is strictly convex). Golden section resolves a minimum only
 * to about sqrt(machine epsilon) (the objective is flat to rounding there), hence the 1e-7 below,
 * with a first-order check that no nearby point does better.
 */
function proxByDefinition(reg: Regularizer, v: number, t: number): number {
  const phi = (x: number) => t * (reg.l1 * Math.abs(x) + 0.5 * reg.l2 * x * x) + 0.5 * (x - v) * (x - v);
  let a = -Math.abs(v) - 1;
  let b = Math.abs(v) + 1;
  const g = (Math.sqrt(5) - 1) / 2;
  let c = b - g * (b - a);
  let d = a + g * (b - a);
  for (let i = 0; i < 200; i++) {
    if (phi(c) < phi(d)) b = d;
    else a = c;
    c = b - g * (b - a);
    d = a + g * (b - a);
  }
  return (a + b) / 2;
}

describe("makeRegularizer", () => {
  test("weights of each penalty", () => {
    const w = (p: PenaltyName, extra = {}) => {
      const r = makeRegularizer({ penalty: p, ...extra });
      return [r.name, r.l1, r.l2];
    };
    expect(w("none")).toEqual(["none", 0, 0]);
    expect(w("l1")).toEqual(["l1", 1, 0]);
    expect(w("l2")).toEqual(["l2", 0, 1]);
    expect(w("elasticnet", { l1Ratio: 0.25 })).toEqual(["elasticnet", 0.25, 0.75]);
    expect(w("elasticnet")).toEqual(["elasticnet", 0.5, 0.5]);
    expect(w("l1", { lambda: 3 })).toEqual(["l1", 3, 0]);
  });

  test("bad options", () => {
    expect(() => makeRegularizer({ penalty: "elasticnet", l1Ratio: 1.5 })).toThrow(
      new GlmError("glm: l1Ratio must be in [0, 1], got 1.5"),
    );
    expect(() => makeRegularizer({ penalty: "l2", lambda: -1 })).toThrow("glm: lambda must be a finite number >= 0, got -1");
    expect(() => makeRegularizer({ penalty: "l3" as PenaltyName })).toThrow(
      'glm: unknown penalty "l3" (expected none, l1, l2 or elasticnet)',
    );
  });
});

describe("value, gradient, prox", () => {
  const theta = Float64Array.of(1.5, -2, 0, 0.25, 7); // last entry: an intercept (nPen = 4)

  test("value excludes the unpenalised tail", () => {
    expect(makeRegularizer({ penalty: "l1" }).value(theta, 4)).toBe(3.75);
    expect(makeRegularizer({ penalty: "l2" }).value(theta, 4)).toBe(0.5 * (2.25 + 4 + 0.0625));
    expect(makeRegularizer({ penalty: "elasticnet", l1Ratio: 0.5 }).value(theta, 4)).toBe(0.5 * 3.75 + 0.25 * 6.3125);
    expect(makeRegularizer().value(theta, 4)).toBe(0);
  });

  test("gradient where smooth; an error with an l1 part", () => {
    const g = new Float64Array(5);
    makeRegularizer({ penalty: "l2", lambda: 2 }).addGradient(theta, 4, g);
    expect(Array.from(g)).toEqual([3, -4, 0, 0.5, 0]);
    expect(() => makeRegularizer({ penalty: "elasticnet" }).addGradient(theta, 4, g)).toThrow(
      'glm: penalty "elasticnet" has no gradient (it has an l1 part)',
    );
  });

  for (const [penalty, l1Ratio] of [
    ["l1", undefined],
    ["l2", undefined],
    ["elasticnet", 0.3],
    ["elasticnet", 0.9],
    ["none", undefined],
  ] as const) {
    test(`prox of ${penalty}${l1Ratio !== undefined ? ` (l1Ratio ${l1Ratio})` : ""} agrees with its definition`, () => {
      const reg = makeRegularizer({ penalty, lambda: 1.7, ...(l1Ratio !== undefined ? { l1Ratio } : {}) });
      const vs = [-3, -1.2, -0.4, -0.05, 0, 0.05, 0.4, 1.2, 3];
      for (const t of [0.1, 0.5, 2]) {
        const v = Float64Array.from(vs);
        const out = reg.prox(v, t, v.length, new Float64Array(v.length));
        const phi = (x: number, v: number) => t * (reg.l1 * Math.abs(x) + 0.5 * reg.l2 * x * x) + 0.5 * (x - v) * (x - v);
        for (let i = 0; i < vs.length; i++) {
          expect(Math.abs(out[i] - proxByDefinition(reg, vs[i], t))).toBeLessThan(1e-7);
          expect(phi(out[i], vs[i])).toBeLessThanOrEqual(phi(out[i] + 1e-6, vs[i]));
          expect(phi(out[i], vs[i])).toBeLessThanOrEqual(phi(out[i] - 1e-6, vs[i]));
        }
      }
    });
  }

  test("elastic-net prox is soft-threshold then scale; intercepts pass through", () => {
    const reg = makeRegularizer({ penalty: "elasticnet", l1Ratio: 0.5, lambda: 2 }); // l1 = 1, l2 = 1
    const out = reg.prox(Float64Array.of(3, -0.5, -2, 9), 0.5, 3, new Float64Array(4));
    // S(3, 0.5) / (1 + 0.5) = 2.5 / 1.5; S(-0.5, 0.5) = 0; S(-2, 0.5) / 1.5 = -1.5 / 1.5.
    expect(out[0]).toBeCloseTo(2.5 / 1.5, 15);
    expect(Array.from(out.subarray(1))).toEqual([0, -1, 9]);
  });

  test("minimum-norm subgradient (OWL-QN pseudo-gradient)", () => {
    const reg = makeRegularizer({ penalty: "l1" });
    const x = Float64Array.of(1, -1, 0, 0, 0, 5);
    const g = Float64Array.of(0.5, 0.5, -3, 2, 0.25, 0.75);
    const out = reg.minNormSubgradient(x, g, 5, new Float64Array(6));
    expect(Array.from(out)).toEqual([1.5, -0.5, -2, 1, 0, 0.75]);
  });
});

describe("solver x penalty support", () => {
  test("the matrix", () => {
    expect(SOLVER_SUPPORT).toEqual({
      lbfgs: ["none", "l2", "l1", "elasticnet"],
      newton: ["none", "l2"],
      proximalGradient: ["none", "l2", "l1", "elasticnet"],
      admm: ["none", "l2", "l1", "elasticnet"],
      admmAsync: ["none", "l2", "l1", "elasticnet"],
      gradientDescent: ["none", "l2"],
    });
  });

  test("unsupported pairs name the alternatives", () => {
    expect(() => checkSupport("newton", "l1")).toThrow(
      new UnsupportedPenaltyError("newton", "l1", ["lbfgs", "proximalGradient", "admm", "admmAsync"]),
    );
    expect(() => checkSupport("newton", "l1")).toThrow(
      'glm: solver "newton" does not support penalty "l1" (use lbfgs, proximalGradient, admm or admmAsync)',
    );
    expect(() => checkSupport("gradientDescent", "elasticnet")).toThrow(
      'glm: solver "gradientDescent" does not support penalty "elasticnet" (use lbfgs, proximalGradient, admm or admmAsync)',
    );
    expect(() => checkSupport("sgd" as SolverName, "l1")).toThrow(
      'glm: unknown solver "sgd" (expected lbfgs, newton, proximalGradient, admm, admmAsync, gradientDescent)',
    );
  });
});
