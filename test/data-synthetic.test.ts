/** Synthetic data made on the workers: reproducible whatever the partitioning; trainTestSplit. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../src/index.js";
import { makeBlobs, makeClassification, makeRegression, regressionCoef, trainTestSplit } from "../src/data/index.js";
import { evenA } from "./fixtures/data-tasks.js";

let client: Client;

beforeAll(async () => {
  client = await Client.connect({ processes: false, nWorkers: 2 });
});

afterAll(async () => {
  await client?.close();
});

describe("synthetic data", () => {
  it("gives the same rows for any number of partitions", async () => {
    const one = await makeClassification({ nSamples: 1000, nFeatures: 5, npartitions: 1, seed: 7 }).compute();
    const seven = makeClassification({ nSamples: 1000, nFeatures: 5, npartitions: 7, seed: 7 });
    expect(seven.rows).toEqual([142, 143, 143, 143, 143, 143, 143]);
    const again = await seven.compute();
    for (const c of ["x0", "x4", "y"]) expect(Array.from(again.columns.get(c) as Float64Array)).toEqual(Array.from(one.columns.get(c) as Float64Array));
    const other = await makeClassification({ nSamples: 1000, nFeatures: 5, npartitions: 1, seed: 8 }).compute();
    expect((other.columns.get("x0") as Float64Array)[0]).not.toBe((one.columns.get("x0") as Float64Array)[0]);
  });

  it("has the documented distributions", async () => {
    const d = await makeRegression({ nSamples: 20000, nFeatures: 4, nInformative: 2, npartitions: 4, seed: 1 }).describe().compute();
    const x0 = Array.from(d.columns.get("x0") as Float64Array);
    expect(x0[0]).toBe(20000);
    expect(Math.abs(x0[1])).toBeLessThan(0.03);
    expect(Math.abs(x0[2] - 1)).toBeLessThan(0.03);
    // noise 0: y is exactly X coef.
    const p = await makeRegression({ nSamples: 10, nFeatures: 4, nInformative: 2, seed: 1 }).compute();
    const coef = regressionCoef(1, 4, 2);
    expect(coef[2]).toBe(0);
    const X = [0, 1, 2, 3].map((j) => p.columns.get(`x${j}`) as Float64Array);
    const y = p.columns.get("y") as Float64Array;
    for (let i = 0; i < 10; i++) expect(y[i]).toBeCloseTo(coef[0] * X[0][i] + coef[1] * X[1][i], 9);

    const blobs = await makeBlobs({ nSamples: 3000, centers: 3, clusterStd: 0.1, seed: 3, npartitions: 3 }).groupBy("y").agg({ x0: ["count", "std"] }).compute();
    expect(Array.from(blobs.columns.get("y") as Int32Array)).toEqual([0, 1, 2]);
    for (const s of blobs.columns.get("x0_std") as Float64Array) expect(Math.abs(s - 0.1)).toBeLessThan(0.01);
    const counts = Array.from(blobs.columns.get("x0_count") as Float64Array);
    expect(counts.reduce((a, x) => a + x, 0)).toBe(3000);
  });

  it("splits train and test by row, independent of partitioning", async () => {
    const f = makeClassification({ nSamples: 2000, nFeatures: 3, npartitions: 5, seed: 2 });
    const [train, test] = trainTestSplit(f, { testSize: 0.2, seed: 4 });
    const nTrain = await train.count();
    const nTest = await test.count();
    expect(nTrain + nTest).toBe(2000);
    expect(Math.abs(nTest - 400)).toBeLessThan(60);
    const [, test2] = trainTestSplit(f.repartition(3), { testSize: 0.2, seed: 4 });
    expect(Array.from((await test2.compute()).columns.get("x0") as Float64Array)).toEqual(Array.from((await test.compute()).columns.get("x0") as Float64Array));
    expect(() => trainTestSplit(f.filter(evenA))).toThrow("skein data: trainTestSplit needs every partition's row count; persist() the frame first");
  });
});
