/**
 * XGBoost on a LocalCluster: data made on the workers, an XGBClassifier trained where the data
 * is (one XGBoost participant per worker, skein's rabit tracker in this process), predictions
 * in the workers with ParallelPostFit, and the same fit in-process for comparison.
 * Needs Debian's libxgboost0 (apt-get install libxgboost0).
 *
 *   node --conditions=source --import tsx examples/xgboost.ts
 *   SKEIN_EXAMPLE_SMALL=1 ...   # a small data set (a few seconds)
 */
import { Client, isMain } from "skein";
import { makeClassification, trainTestSplit } from "skein/data";
import { ParallelPostFit, XGBClassifier, rocAucScore, train, xgboostAvailable } from "skein/estimators";

export async function main(): Promise<void> {
  if (!xgboostAvailable()) {
    console.log("libxgboost is not installed (apt-get install libxgboost0): nothing to show");
    return;
  }
  const small = process.env.SKEIN_EXAMPLE_SMALL === "1";
  const nSamples = small ? 10_000 : 1_000_000;
  const params = { nEstimators: small ? 20 : 100, maxDepth: 6, learningRate: 0.1, treeMethod: "hist" as const };
  const client = await Client.connect({ nWorkers: 2 });
  try {
    // 1. Data made on the workers (4 partitions), split 80/20 into train and test, X and y, kept there.
    const data = makeClassification({ nSamples, nFeatures: 20, nInformative: 6, npartitions: 4, seed: 1 });
    const [trainFrame, testFrame] = trainTestSplit(data, { testSize: 0.2, seed: 0 });
    const xy = await trainFrame.splitXY("y").persist();
    const holdout = await testFrame.splitXY("y").compute();

    // 2. Distributed fit: each worker builds its DMatrix from its own partitions; the model comes back.
    const t0 = performance.now();
    const clf = await new XGBClassifier(params).fit(xy);
    console.log(`distributed fit: ${(performance.now() - t0).toFixed(0)} ms`);
    for (const p of clf.participants ?? []) console.log(`  rank ${p.rank} on ${p.name}: ${p.rows} rows`);
    const proba = clf.predictProba(holdout.X);
    const p1 = proba.data.filter((_, i) => i % 2 === 1);
    console.log(`holdout AUC ${rocAucScore(holdout.y, p1).toFixed(4)}`);

    // 3. Predictions in the workers, partition by partition: a lazy Frame with proba_<class> columns.
    const test = testFrame.toMatrix(Array.from({ length: 20 }, (_, j) => `x${j}`));
    const out = await (await new ParallelPostFit(clf).predictProba(test)).compute();
    console.log(`ParallelPostFit: ${out.rows} rows, columns ${[...out.columns.keys()].join(", ")}`);

    // 4. The functional form (xgboost.dask.train's): booster params, rounds, eval sets on the cluster.
    const res = await train(client, { objective: "binary:logistic", tree_method: "hist", max_depth: 4, eval_metric: "logloss" }, xy, {
      numBoostRound: small ? 10 : 50,
      evals: [[xy, "train"]],
    });
    const curve = res.evalsResult.train.logloss;
    console.log(`train(): ${res.booster.boostedRounds()} rounds, train logloss ${curve[0].toFixed(4)} -> ${curve[curve.length - 1].toFixed(4)}`);
    res.booster.free();

    // 5. The same classifier in-process on the collected data: comparable accuracy.
    const { X, y } = await xy.compute();
    const local = await new XGBClassifier(params).fit(X, y);
    console.log(`local fit holdout AUC ${rocAucScore(holdout.y, local.predictProba(holdout.X).data.filter((_, i) => i % 2 === 1)).toFixed(4)}`);
  } finally {
    await client.close();
  }
}

if (isMain(import.meta)) await main();
