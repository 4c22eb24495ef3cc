/**
 * Any estimator is searchable: a wrapper around ml.js's `ml-logistic-regression` (plain gradient
 * ascent, one-vs-all) that passes skein's conformance suite, tuned with GridSearchCV on a
 * LocalCluster.
 *
 *   npm install ml-logistic-regression ml-matrix      # (a devDependency of skein's repository)
 *   node --conditions=source --import tsx examples/search-mljs.ts
 *   SKEIN_EXAMPLE_SMALL=1 ...                         # a small data set (a few seconds)
 *
 * The wrapper is registered with this module's URL: the workers import this script to rebuild it
 * from JSON (the main guard at the bottom keeps them from running the example).
 */
import { Client, isMain } from "skein";
import {
  BaseEstimator,
  GridSearchCV,
  checkEstimator,
  registerEstimator,
  trainTestSplit,
  type ConstraintTable,
  type EstimatorTags,
} from "skein/estimators";

interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

// ml-logistic-regression ships no types: the little of it used here, typed by hand.
interface MlMatrix {
  to1DArray(): number[];
}
interface MlMatrixClass {
  new (rows: number[][]): MlMatrix;
  columnVector(v: number[]): MlMatrix;
}
interface MlLogReg {
  train(X: MlMatrix, Y: MlMatrix): void;
  classifiers: { weights: MlMatrix }[];
}
type MlLogRegClass = new (o: { numSteps: number; learningRate: number }) => MlLogReg;

let ml: { LogReg: MlLogRegClass; Matrix: MlMatrixClass } | null = null;
async function loadMl(): Promise<{ LogReg: MlLogRegClass; Matrix: MlMatrixClass }> {
  if (ml) return ml;
  const names = ["ml-logistic-regression", "ml-matrix"]; // names in variables: no type lookup
  const [lr, mx] = await Promise.all(names.map((n) => import(n)));
  ml = { LogReg: (lr as { default: MlLogRegClass }).default, Matrix: (mx as { Matrix: MlMatrixClass }).Matrix };
  return ml;
}

export interface MlLogisticParams extends Record<string, unknown> {
  /** Gradient steps (ml.js's numSteps). */
  numSteps: number;
  /** Step size per row: ml.js sums the gradient over rows, so its learningRate is this / n. */
  learningRate: number;
  /** Add a constant column (ml.js fits no intercept). */
  fitIntercept: boolean;
}

interface MlLogisticState {
  classes: Float64Array;
  /** One weight row per class (ml.js's one-vs-all: weight k scores "not class k"). */
  weights: Float64Array[];
  nFeatures: number;
}

/** ml.js's logistic regression behind the estimator contract; fitted state is plain data. */
export class MlLogisticRegression extends BaseEstimator<MlLogisticParams, MlLogisticState> {
  static override readonly estimatorName = "example.MlLogisticRegression";
  readonly tags: EstimatorTags = { classifier: true };

  defaults(): MlLogisticParams {
    return { numSteps: 200, learningRate: 0.5, fitIntercept: true };
  }
  constraints(): ConstraintTable {
    return {
      numSteps: { type: "number", integer: true, min: 1 },
      learningRate: { type: "number", min: 0, minExclusive: true },
      fitIntercept: { type: "boolean" },
    };
  }

  private rowsOf(X: Matrix): number[][] {
    const out: number[][] = [];
    for (let i = 0; i < X.rows; i++) {
      const r = Array.from(X.data.subarray(i * X.cols, (i + 1) * X.cols));
      if (this.params.fitIntercept) r.push(1);
      out.push(r);
    }
    return out;
  }

  protected async fitState(X: Matrix, y: Float64Array | undefined): Promise<MlLogisticState> {
    const { LogReg, Matrix: M } = await loadMl();
    const classes = Float64Array.from(new Set(y!)).sort();
    // ml.js expects labels 0..K-1.
    const index = new Map<number, number>();
    classes.forEach((c, k) => index.set(c, k));
    const labels = Array.from(y!, (v) => index.get(v)!);
    const model = new LogReg({ numSteps: this.params.numSteps, learningRate: this.params.learningRate / X.rows });
    model.train(new M(this.rowsOf(X)), M.columnVector(labels));
    return { classes, weights: model.classifiers.map((c) => Float64Array.from(c.weights.to1DArray())), nFeatures: X.cols };
  }

  /** P(class k) per row: ml.js's sigmoid scores "not class k", so 1 - score, normalised. */
  predictProba(X: Matrix): Matrix {
    const s = this.fittedState("predictProba");
    this.checkPredictInput("predictProba", X, s.nFeatures);
    const K = s.classes.length;
    const out = new Float64Array(X.rows * K);
    for (let i = 0; i < X.rows; i++) {
      let sum = 0;
      for (let k = 0; k < K; k++) {
        const w = s.weights[k];
        let z = this.params.fitIntercept ? w[X.cols] : 0;
        for (let j = 0; j < X.cols; j++) z += w[j] * X.data[i * X.cols + j];
        const p = 1 - 1 / (1 + Math.exp(-z));
        out[i * K + k] = p;
        sum += p;
      }
      for (let k = 0; k < K; k++) out[i * K + k] /= sum;
    }
    return { rows: X.rows, cols: K, data: out };
  }

  predict(X: Matrix): Float64Array {
    const s = this.fittedState("predict");
    const P = this.predictProba(X);
    const out = new Float64Array(X.rows);
    for (let i = 0; i < X.rows; i++) {
      let best = 0;
      for (let k = 1; k < P.cols; k++) if (P.data[i * P.cols + k] > P.data[i * P.cols + best]) best = k;
      out[i] = s.classes[best];
    }
    return out;
  }

  classes(): Float64Array {
    return this.fittedState("classes").classes;
  }
}
registerEstimator(MlLogisticRegression, import.meta.url);

/** A hash of (i, j) in [-1, 1): deterministic noise. */
function noise(i: number, j: number): number {
  const x = Math.sin(12.9898 * i + 78.233 * j + 0.5) * 43758.5453;
  return 2 * (x - Math.floor(x)) - 1;
}

/** Two overlapping clouds in 4 dimensions, shifted apart more along the later columns. */
function makeData(n: number): { X: Matrix; y: Float64Array } {
  const p = 4;
  const data = new Float64Array(n * p);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    for (let j = 0; j < p; j++) data[i * p + j] = (y[i] ? 0.25 : -0.25) * (j + 1) + 3 * noise(i, j) + 2;
  }
  return { X: { rows: n, cols: p, data }, y };
}

export async function main(): Promise<void> {
  const small = process.env.SKEIN_EXAMPLE_SMALL === "1";

  // 1. The wrapper passes the conformance suite (run here without a test framework).
  let passed = 0;
  for (const c of checkEstimator(() => new MlLogisticRegression({ numSteps: 50 }))) {
    await c.run();
    passed++;
  }
  console.log(`MlLogisticRegression passes ${passed} conformance checks`);

  // 2. Tuned with GridSearchCV on a LocalCluster: 3 x 3 candidates x 3 stratified folds.
  const { X, y } = makeData(small ? 300 : 5000);
  const { XTrain, XTest, yTrain, yTest } = trainTestSplit(X, y, { testSize: 0.25, seed: 0 });
  const client = await Client.connect({ nWorkers: 2 });
  try {
    const search = new GridSearchCV({
      estimator: new MlLogisticRegression(),
      paramGrid: { numSteps: [3, 20, 200], learningRate: [0.01, 0.1, 1] },
      cv: 3,
      scoring: "accuracy",
    });
    await search.fit(XTrain, yTrain!, { client });
    console.log(`best ${JSON.stringify(search.bestParams)}: mean CV accuracy ${search.bestScore.toFixed(4)}, held-out ${search.score(XTest, yTest).toFixed(4)}`);
    const r = search.cvResults;
    for (let c = 0; c < r.params.length; c++) {
      console.log(`  rank ${r.rank_test_score[c]}  ${JSON.stringify(r.params[c])}  accuracy ${(r.mean_test_score[c] as number).toFixed(4)}`);
    }
  } finally {
    await client.close();
  }
}

if (isMain(import.meta)) await main();
