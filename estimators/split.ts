/**
 * Cross-validation splitters and trainTestSplit on local data. KFold, StratifiedKFold and
 * GroupKFold give scikit-learn's folds when not shuffled; shuffling uses skein's seeded RNG
 * (the same seed gives the same folds, but not numpy's).
 */
import type { Matrix } from "../src/data/matrix.js";
import { PREFIX, registerParamCodec } from "./base.js";

export interface Split {
  train: Int32Array;
  test: Int32Array;
}

export interface Splitter {
  readonly nSplits: number;
  /** y (stratification) and groups are needed by some splitters. */
  split(nSamples: number, y?: ArrayLike<number>, groups?: ArrayLike<number>): Split[];
  /** Plain data describing the splitter (for search plans and JSON). */
  describe(): Record<string, unknown>;
}

/** mulberry32: small, fast, seeded; good enough for shuffling and sampling. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}

function checkN(name: string, nSplits: number, n: number): void {
  if (!Number.isInteger(nSplits) || nSplits < 2) throw new RangeError(`${PREFIX} ${name}: nSplits must be an integer >= 2, got ${nSplits}`);
  if (nSplits > n) throw new RangeError(`${PREFIX} ${name}: nSplits=${nSplits} is greater than the number of samples ${n}`);
}

function complement(n: number, test: Int32Array): Int32Array {
  const mark = new Uint8Array(n);
  for (let i = 0; i < test.length; i++) mark[test[i]] = 1;
  const train = new Int32Array(n - test.length);
  let k = 0;
  for (let i = 0; i < n; i++) if (!mark[i]) train[k++] = i;
  return train;
}

function foldsFromAssignment(n: number, nSplits: number, fold: Int32Array): Split[] {
  const out: Split[] = [];
  for (let f = 0; f < nSplits; f++) {
    let c = 0;
    for (let i = 0; i < n; i++) if (fold[i] === f) c++;
    const test = new Int32Array(c);
    c = 0;
    for (let i = 0; i < n; i++) if (fold[i] === f) test[c++] = i;
    out.push({ train: complement(n, test), test });
  }
  return out;
}

export interface KFoldOptions {
  nSplits?: number;
  shuffle?: boolean;
  seed?: number;
}

/** Consecutive folds; the first n % k folds have one extra sample (sklearn's KFold). */
export class KFold implements Splitter {
  readonly nSplits: number;
  readonly shuffle: boolean;
  readonly seed: number;
  constructor(opts: KFoldOptions = {}) {
    this.nSplits = opts.nSplits ?? 5;
    this.shuffle = opts.shuffle ?? false;
    this.seed = opts.seed ?? 0;
  }
  split(n: number): Split[] {
    checkN("KFold", this.nSplits, n);
    const idx = Int32Array.from({ length: n }, (_, i) => i);
    if (this.shuffle) new Rng(this.seed).shuffle(idx);
    const out: Split[] = [];
    let start = 0;
    for (let f = 0; f < this.nSplits; f++) {
      const size = Math.floor(n / this.nSplits) + (f < n % this.nSplits ? 1 : 0);
      const test = idx.slice(start, start + size).sort();
      out.push({ train: complement(n, test), test });
      start += size;
    }
    return out;
  }
  describe(): Record<string, unknown> {
    return { type: "KFold", nSplits: this.nSplits, shuffle: this.shuffle, seed: this.seed };
  }
}

/** Folds preserving class proportions, with scikit-learn's allocation (>= 0.22). */
export class StratifiedKFold implements Splitter {
  readonly nSplits: number;
  readonly shuffle: boolean;
  readonly seed: number;
  constructor(opts: KFoldOptions = {}) {
    this.nSplits = opts.nSplits ?? 5;
    this.shuffle = opts.shuffle ?? false;
    this.seed = opts.seed ?? 0;
  }
  split(n: number, y?: ArrayLike<number>): Split[] {
    checkN("StratifiedKFold", this.nSplits, n);
    if (!y || y.length !== n) throw new TypeError(`${PREFIX} StratifiedKFold: y with ${n} values is required`);
    const k = this.nSplits;
    // Classes numbered in order of first appearance, as sklearn's y_encoded.
    const code = new Map<number, number>();
    const enc = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let c = code.get(y[i]);
      if (c === undefined) code.set(y[i], (c = code.size));
      enc[i] = c;
    }
    const nClasses = code.size;
    const counts = new Int32Array(nClasses);
    for (let i = 0; i < n; i++) counts[enc[i]]++;
    for (let c = 0; c < nClasses; c++) {
      if (counts[c] < k && counts.every((x) => x < k)) {
        throw new RangeError(`${PREFIX} StratifiedKFold: nSplits=${k} cannot be greater than the number of members in each class`);
      }
    }
    // allocation[f][c] = count of class c among sorted labels at positions f, f + k, ...
    const sorted = Int32Array.from(enc).sort();
    const alloc: Int32Array[] = Array.from({ length: k }, () => new Int32Array(nClasses));
    for (let i = 0; i < n; i++) alloc[i % k][sorted[i]]++;
    const fold = new Int32Array(n);
    const rng = new Rng(this.seed);
    for (let c = 0; c < nClasses; c++) {
      const folds: number[] = [];
      for (let f = 0; f < k; f++) for (let t = 0; t < alloc[f][c]; t++) folds.push(f);
      if (this.shuffle) rng.shuffle(folds);
      let t = 0;
      for (let i = 0; i < n; i++) if (enc[i] === c) fold[i] = folds[t++];
    }
    return foldsFromAssignment(n, k, fold);
  }
  describe(): Record<string, unknown> {
    return { type: "StratifiedKFold", nSplits: this.nSplits, shuffle: this.shuffle, seed: this.seed };
  }
}

/** Groups never straddle train and test; largest groups first into the lightest fold (sklearn's GroupKFold). */
export class GroupKFold implements Splitter {
  readonly nSplits: number;
  constructor(opts: { nSplits?: number } = {}) {
    this.nSplits = opts.nSplits ?? 5;
  }
  split(n: number, _y?: ArrayLike<number>, groups?: ArrayLike<number>): Split[] {
    if (!groups || groups.length !== n) throw new TypeError(`${PREFIX} GroupKFold: groups with ${n} values are required`);
    const ids = [...new Set(Array.from(groups))].sort((a, b) => a - b);
    if (ids.length < this.nSplits) {
      throw new RangeError(`${PREFIX} GroupKFold: nSplits=${this.nSplits} is greater than the number of groups ${ids.length}`);
    }
    checkN("GroupKFold", this.nSplits, n);
    const gi = new Map<number, number>();
    ids.forEach((g, i) => gi.set(g, i));
    const size = new Int32Array(ids.length);
    for (let i = 0; i < n; i++) size[gi.get(groups[i])!]++;
    // Largest first; among equal sizes the later group first (numpy argsort reversed).
    const order = Array.from({ length: ids.length }, (_, i) => i).sort((a, b) => size[b] - size[a] || b - a);
    const foldSize = new Float64Array(this.nSplits);
    const groupFold = new Int32Array(ids.length);
    for (const g of order) {
      let best = 0;
      for (let f = 1; f < this.nSplits; f++) if (foldSize[f] < foldSize[best]) best = f;
      foldSize[best] += size[g];
      groupFold[g] = best;
    }
    const fold = new Int32Array(n);
    for (let i = 0; i < n; i++) fold[i] = groupFold[gi.get(groups[i])!];
    return foldsFromAssignment(n, this.nSplits, fold);
  }
  describe(): Record<string, unknown> {
    return { type: "GroupKFold", nSplits: this.nSplits };
  }
}

export interface ShuffleSplitOptions {
  nSplits?: number;
  testSize?: number;
  trainSize?: number;
  seed?: number;
}

function sizes(name: string, n: number, testSize: number | undefined, trainSize: number | undefined): [number, number] {
  const asCount = (v: number, ceil: boolean): number => (v < 1 ? (ceil ? Math.ceil(v * n) : Math.floor(v * n)) : v);
  const nTest = testSize === undefined ? (trainSize === undefined ? Math.ceil(0.1 * n) : n - asCount(trainSize, false)) : asCount(testSize, true);
  const nTrain = trainSize === undefined ? n - nTest : asCount(trainSize, false);
  if (nTest <= 0 || nTrain <= 0 || nTest + nTrain > n || !Number.isInteger(nTest) || !Number.isInteger(nTrain)) {
    throw new RangeError(`${PREFIX} ${name}: with ${n} samples, testSize=${testSize} and trainSize=${trainSize} give ${nTest} test and ${nTrain} train samples`);
  }
  return [nTrain, nTest];
}

/** Independent random permutations; each split takes testSize then trainSize samples. */
export class ShuffleSplit implements Splitter {
  readonly nSplits: number;
  readonly testSize?: number;
  readonly trainSize?: number;
  readonly seed: number;
  constructor(opts: ShuffleSplitOptions = {}) {
    this.nSplits = opts.nSplits ?? 10;
    this.testSize = opts.testSize;
    this.trainSize = opts.trainSize;
    this.seed = opts.seed ?? 0;
  }
  split(n: number): Split[] {
    const [nTrain, nTest] = sizes("ShuffleSplit", n, this.testSize ?? (this.trainSize === undefined ? 0.1 : undefined), this.trainSize);
    const rng = new Rng(this.seed);
    const out: Split[] = [];
    for (let s = 0; s < this.nSplits; s++) {
      const perm = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
      out.push({ test: perm.slice(0, nTest).sort(), train: perm.slice(nTest, nTest + nTrain).sort() });
    }
    return out;
  }
  describe(): Record<string, unknown> {
    return { type: "ShuffleSplit", nSplits: this.nSplits, testSize: this.testSize, trainSize: this.trainSize, seed: this.seed };
  }
}

/** Rows of X (and y) at `idx`, copied into a new matrix. */
export function takeRows(X: Matrix, idx: ArrayLike<number>): Matrix {
  const c = X.cols;
  const data = new Float64Array(idx.length * c);
  for (let i = 0; i < idx.length; i++) data.set(X.data.subarray(idx[i] * c, idx[i] * c + c), i * c);
  return X.columns ? { rows: idx.length, cols: c, data, columns: X.columns } : { rows: idx.length, cols: c, data };
}

export function takeValues(y: Float64Array, idx: ArrayLike<number>): Float64Array {
  const out = new Float64Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = y[idx[i]];
  return out;
}

export interface TrainTestSplitOptions {
  testSize?: number;
  trainSize?: number;
  seed?: number;
  shuffle?: boolean;
  /** Labels to stratify on (usually y): both parts keep the class proportions. */
  stratify?: ArrayLike<number>;
}

export interface TrainTest {
  XTrain: Matrix;
  XTest: Matrix;
  yTrain?: Float64Array;
  yTest?: Float64Array;
  trainIndex: Int32Array;
  testIndex: Int32Array;
}

/**
 * Seeded split of local data (testSize 0.25 by default; a fraction or a count). The rows keep a
 * seeded random order, as sklearn's; with `shuffle: false` the last rows are the test set.
 */
export function trainTestSplit(X: Matrix, y?: Float64Array, opts: TrainTestSplitOptions = {}): TrainTest {
  const n = X.rows;
  if (y && y.length !== n) throw new RangeError(`${PREFIX} trainTestSplit: y has ${y.length} values, X has ${n} rows`);
  const [nTrain, nTest] = sizes("trainTestSplit", n, opts.testSize ?? (opts.trainSize === undefined ? 0.25 : undefined), opts.trainSize);
  let train: Int32Array;
  let test: Int32Array;
  const rng = new Rng(opts.seed ?? 0);
  if (opts.shuffle === false) {
    if (opts.stratify) throw new RangeError(`${PREFIX} trainTestSplit: stratify needs shuffle`);
    train = Int32Array.from({ length: nTrain }, (_, i) => i);
    test = Int32Array.from({ length: nTest }, (_, i) => nTrain + i);
  } else if (opts.stratify) {
    const s = opts.stratify;
    const byClass = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      if (!byClass.has(s[i])) byClass.set(s[i], []);
      byClass.get(s[i])!.push(i);
    }
    // Largest remainders: each class gets floor(share * nTest), the rest to the largest fractions.
    const classes = [...byClass.keys()].sort((a, b) => a - b);
    const want = classes.map((c) => (byClass.get(c)!.length * nTest) / n);
    const take = want.map(Math.floor);
    let left = nTest - take.reduce((a, b) => a + b, 0);
    const byFrac = classes.map((_, i) => i).sort((a, b) => want[b] - take[b] - (want[a] - take[a]) || a - b);
    for (const i of byFrac) if (left > 0) (take[i]++, left--);
    const testL: number[] = [];
    const trainL: number[] = [];
    classes.forEach((c, i) => {
      const members = rng.shuffle(Int32Array.from(byClass.get(c)!));
      for (let t = 0; t < members.length; t++) (t < take[i] ? testL : trainL).push(members[t]);
    });
    test = rng.shuffle(Int32Array.from(testL));
    train = rng.shuffle(Int32Array.from(trainL)).slice(0, nTrain);
  } else {
    const perm = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
    test = perm.slice(0, nTest);
    train = perm.slice(nTest, nTest + nTrain);
  }
  const out: TrainTest = { XTrain: takeRows(X, train), XTest: takeRows(X, test), trainIndex: train, testIndex: test };
  if (y) {
    out.yTrain = takeValues(y, train);
    out.yTest = takeValues(y, test);
  }
  return out;
}

/** A splitter for `cv`: an int gives StratifiedKFold for classifiers and KFold otherwise (sklearn's check_cv). */
export function checkCv(cv: number | Splitter | undefined, classifier: boolean): Splitter {
  if (cv === undefined) cv = 5;
  if (typeof cv === "number") {
    if (!Number.isInteger(cv) || cv < 2) throw new RangeError(`${PREFIX} cv must be an integer >= 2 or a splitter, got ${cv}`);
    return classifier ? new StratifiedKFold({ nSplits: cv }) : new KFold({ nSplits: cv });
  }
  if (typeof cv !== "object" || typeof cv.split !== "function") throw new TypeError(`${PREFIX} cv must be an integer >= 2 or a splitter`);
  return cv;
}

/** Splitters in params (GridSearchCV's cv) travel as their describe() data. */
registerParamCodec({
  tag: "splitter",
  test: (v) => v instanceof KFold || v instanceof StratifiedKFold || v instanceof GroupKFold || v instanceof ShuffleSplit,
  encode: (v) => (v as Splitter).describe(),
  decode: (data) => {
    const { type, ...opts } = data as { type: string } & Record<string, unknown>;
    switch (type) {
      case "KFold":
        return new KFold(opts as KFoldOptions);
      case "StratifiedKFold":
        return new StratifiedKFold(opts as KFoldOptions);
      case "GroupKFold":
        return new GroupKFold(opts as { nSplits?: number });
      case "ShuffleSplit":
        return new ShuffleSplit(opts as ShuffleSplitOptions);
      default:
        throw new TypeError(`${PREFIX} unknown splitter type ${JSON.stringify(type)}`);
    }
  },
});

/** Columns `cols` of X, copied into a new matrix (names kept when known). */
export function takeColumns(X: Matrix, cols: readonly number[]): Matrix {
  const k = cols.length;
  const data = new Float64Array(X.rows * k);
  for (let i = 0; i < X.rows; i++) for (let j = 0; j < k; j++) data[i * k + j] = X.data[i * X.cols + cols[j]];
  return X.columns ? { rows: X.rows, cols: k, data, columns: cols.map((c) => X.columns![c]) } : { rows: X.rows, cols: k, data };
}
