/**
 * GLMs on a LocalCluster: a logistic regression fitted on partitions that stay on the workers,
 * the same model fitted in-process, a multinomial model, and the solvers used directly (synchronous
 * and asynchronous ADMM among them).
 *
 *   node --conditions=source --import tsx examples/glm.ts
 *   SKEIN_EXAMPLE_SMALL=1 ...   # a small data set (a few seconds)
 */
import { Client, isMain } from "skein";
import { makeClassification } from "skein/data";
import { LogisticRegression, PoissonRegression } from "skein/estimators";
import { DistributedProblem, solve } from "skein/solvers";

export async function main(): Promise<void> {
  const small = process.env.SKEIN_EXAMPLE_SMALL === "1";
  const nSamples = small ? 20_000 : 1_000_000;
  const client = await Client.connect({ nWorkers: 2 });
  try {
    // 1. Data made on the workers, split into X and y per partition, kept there.
    const xy = await makeClassification({ nSamples, nFeatures: 10, nInformative: 4, npartitions: 4, seed: 1 })
      .splitXY("y")
      .persist();
    const t0 = performance.now();
    const model = await new LogisticRegression({ C: 1, solver: "newton" }).fit(xy); // one task per partition per step
    console.log(`distributed fit: ${model.nIter} iterations in ${(performance.now() - t0).toFixed(0)} ms`);
    console.log("coef", Array.from(model.coef, (v) => v.toFixed(4)).join(" "), "intercept", model.intercept[0].toFixed(4));

    // 2. The same model in-process on a local Matrix: the same optimum.
    const { X, y } = await xy.compute();
    const local = await new LogisticRegression({ C: 1 }).fit(X, y);
    console.log(`local fit: objective ${local.objective.toFixed(6)} vs distributed ${model.objective.toFixed(6)}; accuracy ${local.score(X, y).toFixed(4)}`);

    // 3. Three classes: multinomial by default; { multiClass: "ovr" } for one-vs-rest.
    const three = await makeClassification({ nSamples: 5_000, nFeatures: 5, nClasses: 3, seed: 2 }).splitXY("y").compute();
    const multi = await new LogisticRegression({ C: 10, penalty: "l1", solver: "admm" }).fit(three.X, three.y);
    console.log(`multinomial l1 (admm): classes ${Array.from(multi.classes()).join(",")}, accuracy ${multi.score(three.X, three.y).toFixed(4)}`);

    // 4. Counts: Poisson regression (scikit-learn's PoissonRegressor(alpha)).
    const counts = Float64Array.from(three.y, (v, i) => v + (i % 3));
    const pois = await new PoissonRegression({ alpha: 0.01 }).fit(three.X, counts);
    console.log(`poisson D^2 ${pois.score(three.X, counts).toFixed(4)}`);

    // 5. The solvers directly on a DistributedProblem: any solver x penalty it supports.
    const problem = await DistributedProblem.create(xy, { family: "logistic", fitIntercept: true });
    const res = await solve(problem, { solver: "lbfgs", penalty: "elasticnet", C: 1, l1Ratio: 0.5 });
    console.log(`lbfgs (OWL-QN) elastic net: ${res.nIter} iterations, objective ${res.objective.toFixed(6)}`);

    // 6. Asynchronous ADMM: z is updated as each partition's local solve completes, so a slow
    //    worker holds back only its own partitions. Same optimum as synchronous ADMM.
    const sync = await solve(problem, { solver: "admm", penalty: "l1", C: 1 });
    const overlapped = await solve(problem, { solver: "admmAsync", penalty: "l1", C: 1 });
    console.log(`admm: ${sync.nIter} iterations, admmAsync: ${overlapped.nIter} epochs; objectives ${sync.objective.toFixed(6)} / ${overlapped.objective.toFixed(6)}`);
  } finally {
    await client.close();
  }
}

if (isMain(import.meta)) await main();
