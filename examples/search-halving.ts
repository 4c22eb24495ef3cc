/**
 * Adaptive search on a LocalCluster: successive halving (HalvingGridSearchCV on training rows,
 * HalvingRandomSearchCV) and hyperband (HyperbandSearchCV on an estimator param), plus the disk
 * cache that lets an interrupted search resume where it stopped.
 *
 *   node --conditions=source --import tsx examples/search-halving.ts
 *   SKEIN_EXAMPLE_SMALL=1 ...   # a small data set (a few seconds)
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client, isMain } from "skein";
import {
  HalvingGridSearchCV,
  HalvingRandomSearchCV,
  HyperbandSearchCV,
  LogisticRegression,
  Pipeline,
  PolynomialFeatures,
  RidgeRegression,
  StandardScaler,
  logUniform,
  trainTestSplit,
} from "skein/estimators";

/** y depends on x0^2 and x1 * x2; the labels are its sign. */
function makeData(n: number) {
  const p = 4;
  const data = new Float64Array(n * p);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) data[i * p + j] = Math.sin(0.37 * i * (j + 1) + j);
    const x = data.subarray(i * p, i * p + p);
    y[i] = 1.5 * x[0] ** 2 - 2 * x[1] * x[2] + x[3] + 0.3 * Math.cos(7 * i);
  }
  return { X: { rows: n, cols: p, data }, y };
}

export async function main(): Promise<void> {
  const small = process.env.SKEIN_EXAMPLE_SMALL === "1";
  const { X, y } = makeData(small ? 900 : 20_000);
  const { XTrain, XTest, yTrain, yTest } = trainTestSplit(X, y, { testSize: 0.25, seed: 0 });
  const client = await Client.connect({ nWorkers: 2 });
  const cache = mkdtempSync(path.join(tmpdir(), "skein-halving-example-"));
  try {
    // 1. Successive halving on the number of training rows: 12 candidates start on a few rows,
    //    the best third go on with 3 times more, until one rung is left (scikit-learn's schedule).
    //    With `cache`, fits and scores are kept on disk: an interrupted run, run again, skips them.
    const pipe = new Pipeline({ steps: [["scale", new StandardScaler()], ["poly", new PolynomialFeatures()], ["ridge", new RidgeRegression()]] });
    const halving = new HalvingGridSearchCV({ estimator: pipe, paramGrid: { poly__degree: [1, 2, 3], ridge__alpha: [0.01, 0.1, 1, 10] }, cv: 3, factor: 3 });
    await halving.fit(XTrain, yTrain!, { client, cache, verbose: 1 });
    console.log(`rungs: n_resources ${JSON.stringify(halving.nResources)}, n_candidates ${JSON.stringify(halving.nCandidates)}`);
    console.log(`best ${JSON.stringify(halving.bestParams)}: mean CV r2 ${halving.bestScore.toFixed(4)} on ${halving.cvResults.n_resources[halving.bestIndex]} rows, held-out r2 ${halving.score(XTest, yTest).toFixed(4)}`);
    const files = readdirSync(cache).length;
    const t0 = performance.now();
    await halving.fit(XTrain, yTrain!, { client, cache });
    console.log(`again with the cache (${files} entries): ${((performance.now() - t0) / 1000).toFixed(2)} s, same best ${JSON.stringify(halving.bestParams)}`);

    // 2. Halving over sampled candidates: as many as the budget allows ("exhaust").
    const labels = Float64Array.from(yTrain!, (v) => (v > 0.5 ? 1 : 0));
    const random = new HalvingRandomSearchCV({ estimator: new LogisticRegression(), paramDistributions: { C: logUniform(1e-3, 1e2) }, cv: 3, factor: 3, seed: 0 });
    await random.fit(XTrain, labels, { client });
    console.log(`random halving: ${random.nCandidates[0]} candidates -> ${random.nRemainingCandidates}; best C ${(random.bestParams.C as number).toPrecision(3)}, accuracy ${random.bestScore.toFixed(4)}`);

    // 3. Hyperband: brackets run at once, each rung submitted as soon as its bracket's scores are
    //    in. The resource here is LogisticRegression's maxIter (refit per rung); an estimator with
    //    partialFit would be continued on the workers instead (resource "partialFit").
    const hb = new HyperbandSearchCV({ estimator: new LogisticRegression({ solver: "gradientDescent", tol: 1e-12 }), paramDistributions: { C: logUniform(1e-3, 1e2) }, resource: "maxIter", maxIter: small ? 9 : 27, cv: 3, seed: 0 });
    await hb.fit(XTrain, labels, { client });
    console.log(`hyperband: brackets ${JSON.stringify(hb.brackets.map((b) => [b.n, b.r]))}, ${hb.cvResults.params.length} rows; best ${JSON.stringify({ C: Number((hb.bestParams.C as number).toPrecision(3)), maxIter: hb.bestParams.maxIter })} accuracy ${hb.bestScore.toFixed(4)}`);
  } finally {
    rmSync(cache, { recursive: true, force: true });
    await client.close();
  }
}

if (isMain(import.meta)) await main();
