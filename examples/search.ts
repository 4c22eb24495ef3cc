/**
 * skein/estimators: hyperparameter search compiled to one task graph and run on a LocalCluster.
 *
 *   node --conditions=source --import tsx examples/search.ts
 *   SKEIN_EXAMPLE_SMALL=1 ...   # a small data set (a few seconds)
 *
 * The search's tasks are exported functions of skein/estimators; the estimators travel to the
 * workers as JSON and are rebuilt there, so this script needs no exports of its own.
 */
import { Client, isMain } from "skein";
import {
  GridSearchCV,
  NearestCentroid,
  Pipeline,
  PolynomialFeatures,
  RandomizedSearchCV,
  RidgeRegression,
  StandardScaler,
  trainTestSplit,
} from "skein/estimators";

/** A small nonlinear regression problem, made locally: y depends on x0^2 and x1 * x2. */
function makeData(n: number) {
  const p = 4;
  const data = new Float64Array(n * p);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) data[i * p + j] = Math.sin(0.37 * i * (j + 1) + j);
    const x = data.subarray(i * p, i * p + p);
    y[i] = 1.5 * x[0] ** 2 - 2 * x[1] * x[2] + x[3] + 0.1 * Math.cos(7 * i);
  }
  return { X: { rows: n, cols: p, data }, y };
}

export async function main(): Promise<void> {
  const small = process.env.SKEIN_EXAMPLE_SMALL === "1";
  const { X, y } = makeData(small ? 600 : 20_000);
  const { XTrain, XTest, yTrain, yTest } = trainTestSplit(X, y, { testSize: 0.25, seed: 0 });
  const client = await Client.connect({ nWorkers: 2 });
  try {
    // 1. A grid over a 3-step pipeline: 3 x 4 candidates x 3 folds = 36 fits of the last step, but
    //    the scaler is fitted once per fold and each polynomial degree once per fold.
    const search = new GridSearchCV({
      estimator: new Pipeline({ steps: [["scale", new StandardScaler()], ["poly", new PolynomialFeatures()], ["ridge", new RidgeRegression()]] }),
      paramGrid: { poly__degree: [1, 2, 3], ridge__alpha: [0.01, 0.1, 1, 10] },
      cv: 3,
      scoring: ["r2", "neg_mean_squared_error"],
      refit: "r2",
    });
    const plan = search.plan(XTrain, yTrain);
    console.log(`graph: ${plan.nTasks} tasks; fit tasks per step ${JSON.stringify(plan.fitTasks)} (${plan.fitTasksWithoutSharing} without sharing)`);
    await search.fit(XTrain, yTrain!, { client });
    console.log(`best ${JSON.stringify(search.bestParams)}: mean CV r2 ${search.bestScore.toFixed(4)}, held-out r2 ${search.score(XTest, yTest).toFixed(4)}`);
    const r = search.cvResults;
    for (let c = 0; c < r.params.length; c++) {
      console.log(`  rank ${r.rank_test_r2[c]}  ${JSON.stringify(r.params[c])}  r2 ${(r.mean_test_r2[c] as number).toFixed(4)} ± ${(r.std_test_r2[c] as number).toFixed(4)}`);
    }

    // 2. A randomized search for a classifier: cv=3 gives stratified folds. Lists are sampled
    //    uniformly; uniform(a, b), logUniform(a, b) and randint(a, b) draw from ranges.
    const labels = Float64Array.from(yTrain!, (v) => (v > 0 ? 1 : 0));
    const rs = new RandomizedSearchCV({
      estimator: new Pipeline({ steps: [["poly", new PolynomialFeatures()], ["scale", new StandardScaler()], ["nc", new NearestCentroid()]] }),
      paramDistributions: { poly__degree: [1, 2], nc__shrinkThreshold: [null, 0.1, 0.5, 1], poly__interactionOnly: [true, false] },
      nIter: 6,
      seed: 1,
      cv: 3,
      scoring: { acc: "balanced_accuracy", auc: "roc_auc" },
      refit: "auc",
    });
    await rs.fit(XTrain, labels, { client });
    console.log(`classifier: best ${JSON.stringify(rs.bestParams)}, mean CV roc_auc ${rs.bestScore.toFixed(4)}`);
  } finally {
    await client.close();
  }
}

if (isMain(import.meta)) await main();
