/**
 * DistributedProblem on LocalClusters (workers in this process, and worker processes): every
 * solver reaches the same objective as on the in-memory LocalProblem, and validation errors
 * raised on the workers name the partition.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../src/index.js";
import { LogisticRegression } from "../estimators/glm.js";
import { DistributedProblem, LocalProblem, newton, solve } from "../solvers/index.js";
import type { KernelSpec, Partition, SolverName, SolveOptions } from "../solvers/index.js";
import { logisticData, partitionsOf } from "./fixtures/glm-data.js";

const spec: KernelSpec = { family: "logistic", fitIntercept: true };
const { X, y } = logisticData(3000, 5, 3);
const parts = partitionsOf(X, y, 4);

const cases: [SolverName, SolveOptions][] = [
  ["lbfgs", { penalty: "l2", C: 0.5, tol: 1e-9 }],
  ["newton", { penalty: "l2", C: 0.5, tol: 1e-9 }],
  ["admm", { penalty: "l1", C: 0.5, tol: 1e-9, absTol: 1e-9, relTol: 1e-9, maxIter: 500 }],
  ["admmAsync", { penalty: "l1", C: 0.5, tol: 1e-9, absTol: 1e-9, relTol: 1e-9, maxIter: 500 }],
];

function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
}

for (const processes of [false, true]) {
  describe(`DistributedProblem on LocalCluster(processes: ${processes})`, () => {
    let client: Client;
    beforeAll(async () => {
      client = await Client.connect({ nWorkers: 2, threadsPerWorker: 1, processes });
    });
    afterAll(async () => {
      await client?.close();
    });

    it("knows rows, weights and columns after validating on the workers", async () => {
      const futs = await client.scatterMany(parts);
      const dp = await DistributedProblem.create(futs, spec, { client });
      expect([dp.nPartitions, dp.p, dp.nRows, dp.sumWeights]).toEqual([4, 5, 3000, 3000]);
      expect(dp.rows).toEqual(parts.map((q) => q.y.length));
      const lp = new LocalProblem(parts, spec);
      const theta = Float64Array.from([0.1, -0.2, 0.3, -0.4, 0.5, 0.05]);
      const [a, b] = [await dp.lossGrad(theta), await lp.lossGrad(theta)];
      expect(relDiff(a.loss, b.loss)).toBeLessThan(1e-14);
      for (let j = 0; j < 6; j++) expect(a.grad[j]).toBeCloseTo(b.grad[j], 10);
      const h = await dp.lossGradHess(theta);
      const hl = await lp.lossGradHess(theta);
      for (let k = 0; k < 36; k++) expect(h.hess[k]).toBeCloseTo(hl.hess[k], 8);
      expect(await dp.loss(theta)).toBeCloseTo(b.loss, 9);
    });

    for (const [solver, opts] of cases) {
      it(`${solver} reaches the local objective (1e-8 relative)`, async () => {
        const futs = await client.scatterMany(parts);
        const dp = await DistributedProblem.create(futs, spec, { client });
        const local = await solve(new LocalProblem(parts, spec), { ...opts, solver });
        const dist = await solve(dp, { ...opts, solver });
        expect(local.converged).toBe(true);
        expect(dist.converged).toBe(true);
        expect(relDiff(dist.objective, local.objective)).toBeLessThan(1e-8);
        for (let j = 0; j < local.theta.length; j++) expect(Math.abs(dist.theta[j] - local.theta[j])).toBeLessThan(1e-5);
      });
    }

    it("newton's sample warm start runs on the workers, matches the local fit and frees the sample", async () => {
      const futs = await client.scatterMany(parts);
      const dp = await DistributedProblem.create(futs, spec, { client });
      const opts = { penalty: "l2" as const, C: 0.5, tol: 1e-9, sampleWarmStart: 4 };
      await new Promise<void>((resolve) => setImmediate(resolve));
      await client.nthreads(); // every release sent so far has been processed
      const before = client.cluster!.scheduler.state.taskCount;
      const dist = await newton(dp, opts);
      const local = await newton(new LocalProblem(parts, spec), opts);
      expect(dist.converged).toBe(true);
      expect(relDiff(dist.objective, local.objective)).toBeLessThan(1e-12);
      expect(dist.nIter).toBe(local.nIter);
      await new Promise<void>((resolve) => setImmediate(resolve));
      await client.nthreads();
      expect(client.cluster!.scheduler.state.taskCount).toBe(before);
    });

    it("LogisticRegression (multinomial, labels encoded on the workers) equals its local fit", async () => {
      const y3 = Float64Array.from(y, (v, i) => [3, 8, 9][v + (X.data[i * 5 + 1] > 0.5 ? 1 : 0)]);
      const futs = await client.scatterMany(partitionsOf(X, y3, 4));
      const dist = await new LogisticRegression({ C: 2, tol: 1e-10 }).fit(futs, undefined, { client });
      const local = await new LogisticRegression({ C: 2, tol: 1e-10 }).fit(X, y3);
      expect(Array.from(dist.classes())).toEqual([3, 8, 9]);
      expect(relDiff(dist.objective, local.objective)).toBeLessThan(1e-8);
      for (let k = 0; k < local.coef.length; k++) expect(Math.abs(dist.coef[k] - local.coef[k])).toBeLessThan(1e-6);
    });

    it("broadcast theta gives the same results as theta in the arguments", async () => {
      const futs = await client.scatterMany(parts);
      const dp = await DistributedProblem.create(futs, spec, { client, thetaTransport: "broadcast" });
      const local = await solve(new LocalProblem(parts, spec), { solver: "lbfgs", penalty: "l2", tol: 1e-9 });
      const dist = await solve(dp, { solver: "lbfgs", penalty: "l2", tol: 1e-9 });
      expect(relDiff(dist.objective, local.objective)).toBeLessThan(1e-8);
    });

    it("names the partition and column of a NaN in X", async () => {
      const bad = parts.map((q) => ({ X: { ...q.X, data: q.X.data.slice() }, y: q.y }));
      bad[2].X.data[7 * 5 + 3] = NaN;
      const futs = await client.scatterMany(bad);
      await expect(DistributedProblem.create(futs, spec, { client })).rejects.toThrow(
        "GlmError: glm: column 3 of partition 2 has NaN at row 7",
      );
    });

    it("rejects negative counts for Poisson, naming the partition", async () => {
      const pois: Partition[] = parts.map((q) => ({ X: q.X, y: q.y.slice() }));
      pois[1].y[4] = -2;
      const futs = await client.scatterMany(pois);
      await expect(DistributedProblem.create(futs, { family: "poisson", fitIntercept: true }, { client })).rejects.toThrow(
        "glm: y value -2 in partition 1 row 4 is outside the Poisson family's domain",
      );
    });
  });
}
