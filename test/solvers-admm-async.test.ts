/**
 * Asynchronous ADMM: every oracle case (in-process partitions complete round-robin, so every
 * x_i is N-1 z-updates stale), a slow partition that must not hold the others back, random
 * completion orders, and a failing local solve.
 */
import { describe, expect, it } from "vitest";
import { admm, admmAsync } from "../solvers/index.js";
import type { LocalProxArgs } from "../solvers/types.js";
import { expectMatchesOracle, oracleCases, problemOf } from "./fixtures/glm/cases.js";
import { loadSmall } from "./fixtures/glm/load.js";

const tight = { absTol: 1e-8, relTol: 1e-7 };
oracleCases("admmAsync", admmAsync, { options: tight });

/** Resolves after `hops` turns of the event loop: reorders completions without timers. */
async function hops(n: number): Promise<void> {
  for (let h = 0; h < n; h++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe("asynchronous ADMM", () => {
  it("keeps the fast partitions solving while a slow one works, and still reaches the optimum", async () => {
    const P = loadSmall().find((p) => p.name === "multinomial")!;
    const o = P.oracles.find((x) => x.penalty === "l1" && x.fitIntercept)!;
    const problem = problemOf(P, true, 3);
    const solves = [0, 0, 0];
    const inner = problem.localProx.bind(problem);
    // Partition 0 is slow: each of its solves waits 40 turns of the event loop, the others 0-2.
    problem.localProx = async (i: number, args: LocalProxArgs) => {
      const x = await inner(i, args);
      await hops(i === 0 ? 40 : solves[i] % 3);
      solves[i]++;
      return x;
    };
    const r = await admmAsync(problem, { ...tight, tol: 1e-9, C: o.C, penalty: o.penalty, maxIter: 5000 });
    expect(r.converged).toBe(true);
    expectMatchesOracle(P, o, r);
    // The fast partitions did not wait for the slow one: they ran many more local solves.
    expect(solves[1]).toBeGreaterThan(3 * solves[0]);
    expect(solves[2]).toBeGreaterThan(3 * solves[0]);
  });

  it("reaches the optimum of the ill-conditioned cases in a shuffled completion order", async () => {
    for (const name of ["logistic_wide", "logistic_constcol"]) {
      const P = loadSmall().find((p) => p.name === name)!;
      for (const o of P.oracles.filter((x) => x.fitIntercept)) {
        const problem = problemOf(P, true, 4);
        const inner = problem.localProx.bind(problem);
        let k = 0;
        problem.localProx = async (i: number, args: LocalProxArgs) => {
          const x = await inner(i, args);
          await hops((k++ * 7 + i * 3) % 5);
          return x;
        };
        const opts = { ...tight, tol: 1e-9, C: o.C, penalty: o.penalty, ...(o.l1Ratio !== undefined ? { l1Ratio: o.l1Ratio } : {}) };
        const r = await admmAsync(problem, opts);
        expectMatchesOracle(P, o, r);
      }
    }
  });

  it("is what admm runs with { asynchronous: true }", async () => {
    const P = loadSmall().find((p) => p.family === "poisson")!;
    const o = P.oracles.find((x) => x.penalty === "elasticnet")!;
    const opts = { ...tight, C: o.C, penalty: o.penalty, l1Ratio: o.l1Ratio };
    const a = await admm(problemOf(P, o.fitIntercept, 3), { ...opts, asynchronous: true });
    const b = await admmAsync(problemOf(P, o.fitIntercept, 3), opts);
    expect(a.beta).toEqual(b.beta);
    expect(a.nIter).toBe(b.nIter);
  });

  it("fails with the first failed local solve, after the others have settled", async () => {
    const P = loadSmall().find((p) => p.family === "logistic")!;
    const problem = problemOf(P, true, 3);
    const inner = problem.localProx.bind(problem);
    let calls = 0;
    let running = 0;
    let runningAtEnd = -1;
    problem.localProx = async (i: number, args: LocalProxArgs) => {
      running++;
      try {
        await hops(i + 1);
        if (++calls === 7) throw new Error("partition 2: worker lost");
        return await inner(i, args);
      } finally {
        running--;
      }
    };
    await expect(
      admmAsync(problem, { penalty: "l2", C: 1 }).finally(() => (runningAtEnd = running)),
    ).rejects.toThrow("partition 2: worker lost");
    expect(runningAtEnd).toBe(0);
  });
});
