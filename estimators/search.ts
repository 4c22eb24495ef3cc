/**
 * GridSearchCV and RandomizedSearchCV compiled to ONE raw task graph: the data is one key, each
 * split side is materialised once, and pipeline prefixes whose parameters agree are fitted once
 * per split and shared by every candidate that extends them (dask-ml's de-duplication). The graph
 * runs on a skein Client (`fit(X, y, { client })`, or the default client) or, without one, in
 * this process. Results follow scikit-learn's `cv_results_` keys.
 */
import { Client } from "../src/client/client.js";
import type { Matrix } from "../src/data/matrix.js";
import { cacheOptions, type CacheOption } from "../src/graph/cache.js";
import { getDefaultComputer } from "../src/graph/delayed.js";
import { tokenize } from "../src/graph/tokenize.js";
import {
  BaseEstimator,
  PREFIX,
  describeValue,
  fromJSON,
  isEstimator,
  paramsFromJSON,
  paramsToJSON,
  registerEstimator,
  type ConstraintTable,
  type Estimator,
  type EstimatorJSON,
  type EstimatorTags,
  type FitOptions,
  type Params,
} from "./base.js";
import { getScorer } from "./metrics.js";
import { Pipeline } from "./pipeline.js";
import { fitFinalStep, fitTransformStep, scoreFold, selectRows, transformStep, type FoldScores, type ScoreSpec, type StepSpec } from "./search-tasks.js";
import { Rng, checkCv, type Split, type Splitter } from "./split.js";

// ------------------------------------------------------------------ candidates

export type ParamGrid = Record<string, readonly unknown[]>;

export type Distribution =
  | { kind: "uniform"; low: number; high: number }
  | { kind: "logUniform"; low: number; high: number }
  | { kind: "randint"; low: number; high: number };

/** Uniform on [low, high). */
export function uniform(low: number, high: number): Distribution {
  if (!(low < high)) throw new RangeError(`${PREFIX} uniform: low ${low} must be below high ${high}`);
  return { kind: "uniform", low, high };
}
/** Log-uniform on [low, high), both > 0 (scipy's loguniform / reciprocal). */
export function logUniform(low: number, high: number): Distribution {
  if (!(low > 0 && low < high)) throw new RangeError(`${PREFIX} logUniform: needs 0 < low < high, got ${low}, ${high}`);
  return { kind: "logUniform", low, high };
}
/** Integers low, ..., high - 1 (scipy's randint). */
export function randint(low: number, high: number): Distribution {
  if (!(Number.isInteger(low) && Number.isInteger(high) && low < high)) throw new RangeError(`${PREFIX} randint: needs integers low < high, got ${low}, ${high}`);
  return { kind: "randint", low, high };
}

function isDistribution(v: unknown): v is Distribution {
  return typeof v === "object" && v !== null && !Array.isArray(v) && ["uniform", "logUniform", "randint"].includes((v as Distribution).kind);
}

/** scikit-learn's ParameterGrid order: names sorted, the last name varies fastest; grids in order. */
export function expandGrid(grid: ParamGrid | readonly ParamGrid[]): Params[] {
  const grids: readonly ParamGrid[] = Array.isArray(grid) ? grid : [grid as ParamGrid];
  const out: Params[] = [];
  for (const g of grids) {
    const names = Object.keys(g).sort();
    for (const n of names) {
      if (!Array.isArray(g[n]) || g[n].length === 0) throw new RangeError(`${PREFIX} paramGrid: "${n}" must be a non-empty array, got ${describeValue(g[n])}`);
    }
    const rec = (i: number, acc: Params): void => {
      if (i === names.length) {
        out.push({ ...acc });
        return;
      }
      for (const v of g[names[i]]) rec(i + 1, { ...acc, [names[i]]: v });
    };
    rec(0, {});
  }
  return out;
}

/** nIter candidates: lists are sampled uniformly, distributions drawn; names in sorted order, seeded. */
export function sampleParams(dists: Record<string, readonly unknown[] | Distribution>, nIter: number, seed: number): Params[] {
  const rng = new Rng(seed);
  const names = Object.keys(dists).sort();
  const out: Params[] = [];
  for (let i = 0; i < nIter; i++) {
    const p: Params = {};
    for (const n of names) {
      const d = dists[n];
      if (Array.isArray(d)) {
        if (d.length === 0) throw new RangeError(`${PREFIX} paramDistributions: "${n}" is an empty list`);
        p[n] = d[rng.int(d.length)];
      } else if (isDistribution(d)) {
        const u = rng.next();
        p[n] =
          d.kind === "uniform"
            ? d.low + u * (d.high - d.low)
            : d.kind === "logUniform"
              ? Math.exp(Math.log(d.low) + u * (Math.log(d.high) - Math.log(d.low)))
              : d.low + Math.floor(u * (d.high - d.low));
      } else {
        throw new TypeError(`${PREFIX} paramDistributions: "${n}" must be a list or uniform / logUniform / randint, got ${describeValue(d)}`);
      }
    }
    out.push(p);
  }
  return out;
}

// ------------------------------------------------------------------ the graph

/** The compiled search: a Dask-style raw graph plus what the search needs to read it back. */
export interface SearchGraph {
  /** key -> task (`[fn, ...args]`, strings naming keys are references) or literal data. */
  graph: Record<string, unknown>;
  /** scoreKeys[candidate][split]. */
  scoreKeys: string[][];
  /** Distinct fit tasks per step name (the de-duplicated count). */
  fitTasks: Record<string, number>;
  /** What fitting every candidate's pipeline separately on every split would have cost. */
  fitTasksWithoutSharing: number;
  nTasks: number;
  nCandidates: number;
  nSplits: number;
}

function stepsOf(est: Estimator): [string, Estimator][] {
  return est instanceof Pipeline ? est.steps : [["estimator", est]];
}

/**
 * Builds the graph for `candidates` x `splits`. Step i of candidate c on split f is keyed by a
 * hash of the unfitted specs of steps 0..i (and the data and split), so equal prefixes share one
 * key, and one task.
 */
export function buildSearchGraph(
  estimator: Estimator,
  candidates: readonly Params[],
  splits: readonly Split[],
  data: { X: Matrix; y: Float64Array | null; w?: Float64Array | null },
  score: ScoreSpec,
  /** Key of the data: pass the key of data already scattered to the workers (see fit). */
  dataKey?: string,
): SearchGraph {
  const graph: Record<string, unknown> = {};
  const dataTok = tokenize(data.X.data, data.X.rows, data.X.cols, data.y, data.w ?? null);
  dataKey ??= `search-data-${dataTok}`;
  graph[dataKey] = { X: data.X, y: data.y, w: data.w ?? null };
  const fitTasks: Record<string, number> = {};
  let without = 0;
  const trainKeys: string[] = [];
  const testKeys: string[] = [];
  splits.forEach((s, f) => {
    const tok = tokenize(dataTok, s.train, s.test);
    trainKeys.push(`search-train-${tok}-${f}`);
    testKeys.push(`search-test-${tok}-${f}`);
    graph[trainKeys[f]] = [selectRows, dataKey, s.train];
    graph[testKeys[f]] = [selectRows, dataKey, s.test];
  });
  const scoreKeys: string[][] = [];
  for (const params of candidates) {
    const est = estimator.clone();
    est.setParams(params);
    const steps = stepsOf(est);
    const specs: StepSpec[] = steps.map(([step, e]) => ({ step, estimator: { ...e.toJSON(), state: null } as EstimatorJSON }));
    for (const [name] of steps) fitTasks[name] ??= 0;
    without += steps.length * splits.length;
    const row: string[] = [];
    for (let f = 0; f < splits.length; f++) {
      let trainIn = trainKeys[f];
      let testIn = testKeys[f];
      let prefixTok = tokenize(trainKeys[f]);
      for (let i = 0; i < specs.length; i++) {
        prefixTok = tokenize(prefixTok, JSON.stringify(specs[i]));
        const last = i === specs.length - 1;
        const fitKey = `search-fit-${specs[i].step}-${prefixTok}`;
        if (!(fitKey in graph)) {
          graph[fitKey] = [last ? fitFinalStep : fitTransformStep, specs[i], trainIn];
          fitTasks[specs[i].step]++;
        }
        if (!last) {
          const trKey = `search-transform-${specs[i].step}-${prefixTok}`;
          if (!(trKey in graph)) graph[trKey] = [transformStep, fitKey, testIn];
          testIn = trKey;
          trainIn = fitKey;
        } else {
          const scoreKey = `search-score-${tokenize(prefixTok, score)}`;
          if (!(scoreKey in graph)) graph[scoreKey] = [scoreFold, score, fitKey, testIn, score.returnTrainScore ? trainIn : null];
          row.push(scoreKey);
        }
      }
    }
    scoreKeys.push(row);
  }
  return {
    graph,
    scoreKeys,
    fitTasks,
    fitTasksWithoutSharing: without,
    nTasks: Object.keys(graph).length,
    nCandidates: candidates.length,
    nSplits: splits.length,
  };
}

/** Runs a raw graph in this process (no client): each key once, dependencies first. */
export async function runGraphLocally(graph: Record<string, unknown>, keys: readonly string[]): Promise<unknown[]> {
  const memo = new Map<string, Promise<unknown>>();
  const has = (k: unknown): k is string => typeof k === "string" && Object.prototype.hasOwnProperty.call(graph, k);
  const arg = async (v: unknown): Promise<unknown> => {
    if (has(v)) return value(v);
    if (Array.isArray(v)) {
      if (v.length > 0 && typeof v[0] === "function") return call(v);
      return Promise.all(v.map(arg));
    }
    return v;
  };
  const call = async (task: readonly unknown[]): Promise<unknown> => {
    const args = await Promise.all(task.slice(1).map(arg));
    return (task[0] as (...a: unknown[]) => unknown)(...args);
  };
  const value = (k: string): Promise<unknown> => {
    let p = memo.get(k);
    if (!p) {
      const v = graph[k];
      p = Array.isArray(v) && v.length > 0 && typeof v[0] === "function" ? call(v) : arg(v);
      memo.set(k, p);
    }
    return p;
  };
  return Promise.all(keys.map(value));
}

// ------------------------------------------------------------------ results

export type CvResults = Record<string, unknown[]> & { params: Params[] };

function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}
function std(xs: readonly number[]): number {
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) ** 2;
  return Math.sqrt(s / xs.length);
}

/** scikit-learn's ranks: 1 is best, ties share the lowest rank, NaN means rank last. */
export function rankScores(means: readonly number[]): number[] {
  if (means.every((m) => Number.isNaN(m))) return means.map(() => 1);
  let min = Infinity;
  for (const m of means) if (!Number.isNaN(m) && m < min) min = m;
  const vals = means.map((m) => (Number.isNaN(m) ? min - 1 : m));
  return vals.map((v) => 1 + vals.filter((w) => w > v).length);
}

// ------------------------------------------------------------------ the estimators

export type Scoring = string | readonly string[] | Readonly<Record<string, string>> | null;

export interface BaseSearchParams extends Record<string, unknown> {
  estimator: Estimator | null;
  scoring: Scoring;
  refit: boolean | string;
  cv: number | Splitter;
  errorScore: "raise" | number;
  returnTrainScore: boolean;
}

export interface GridSearchParams extends BaseSearchParams {
  paramGrid: ParamGrid | ParamGrid[];
}

export interface RandomizedSearchParams extends BaseSearchParams {
  paramDistributions: Record<string, readonly unknown[] | Distribution>;
  nIter: number;
  seed: number;
}

export interface SearchFitOptions extends FitOptions {
  /** Where to run the graph; default: the most recently connected client, else this process. */
  client?: Client | null;
  /** Group labels for GroupKFold. */
  groups?: ArrayLike<number>;
  /** Keep fits and scores on disk under their deterministic keys (needs a client); a re-run skips them. */
  cache?: CacheOption;
  /** 0 silent; 1 a summary line per graph (or per rung of an adaptive search); 2 more detail. */
  verbose?: number;
  /** A progress bar of fits on stderr (default: when stdout and stderr are terminals). */
  progress?: boolean;
}

interface SearchState extends SearchResultState {
  scorerNames: string[];
}

export interface FailedFit {
  candidate: number;
  split: number;
  params: Params;
  error: string;
}

/** What every search's fitted state has: the results and, after a refit, the best estimator. */
export interface SearchResultState {
  cvResults: CvResults;
  bestIndex: number | null;
  bestParams: Params | null;
  bestScore: number | null;
  bestEstimator: EstimatorJSON | null;
  refitTime: number | null;
  nSplits: number;
}

/**
 * The results side shared by every search (grid, random, halving, hyperband): cvResults, the
 * best candidate, failures, and prediction through the refitted best estimator.
 */
export abstract class SearchResults<P extends BaseSearchParams, S extends SearchResultState> extends BaseEstimator<P, S> {
  protected best: Estimator | null = null;
  private results: { state: S; value: CvResults } | null = null;
  /** Why there may be no best estimator, for the error of a refit-only attribute. */
  protected readonly noRefitReason: string = "refit: false was given";

  override loadState(state: unknown): void {
    super.loadState(state);
    this.best = null;
  }

  /** scikit-learn's cv_results_ (estimator-valued params rebuilt from their JSON once). */
  get cvResults(): CvResults {
    const s = this.fittedState("cvResults");
    if (this.results?.state !== s) {
      const r = { ...s.cvResults } as CvResults;
      for (const k of Object.keys(r)) if (k === "params" || k.startsWith("param_")) r[k] = paramsFromJSON(r[k]) as Params[];
      this.results = { state: s, value: r };
    }
    return this.results.value;
  }
  get bestIndex(): number {
    return this.refitted("bestIndex").bestIndex!;
  }
  get bestParams(): Params {
    return paramsFromJSON(this.refitted("bestParams").bestParams) as Params;
  }
  get bestScore(): number {
    return this.refitted("bestScore").bestScore!;
  }
  get bestEstimator(): Estimator {
    const s = this.refitted("bestEstimator");
    if (!this.best) this.best = fromJSON(s.bestEstimator!);
    return this.best;
  }
  get refitTime(): number | null {
    return this.fittedState("refitTime").refitTime;
  }
  /** Every (candidate row, split) whose fit or scoring failed, with its message. */
  get failures(): FailedFit[] {
    const r = this.cvResults;
    const out: FailedFit[] = [];
    const n = this.state!.nSplits;
    for (let f = 0; f < n; f++) {
      (r[`split${f}_error`] as (string | null)[]).forEach((e, c) => e !== null && out.push({ candidate: c, split: f, params: r.params[c], error: e }));
    }
    return out;
  }

  protected refitted(what: string): S {
    const s = this.fittedState(what);
    if (s.bestEstimator === null) throw new TypeError(`${PREFIX} ${this.estimatorType}.${what} is only available with refit (${this.noRefitReason})`);
    return s;
  }

  predict(X: Matrix): Float64Array {
    this.fittedState("predict");
    const b = this.bestEstimator;
    if (!b.predict) throw new TypeError(`${PREFIX} ${this.estimatorType}: the best estimator (${b.estimatorType}) has no predict()`);
    return b.predict(X);
  }
  predictProba(X: Matrix): Matrix {
    this.fittedState("predictProba");
    const b = this.bestEstimator;
    if (!b.predictProba) throw new TypeError(`${PREFIX} ${this.estimatorType}: the best estimator (${b.estimatorType}) has no predictProba()`);
    return b.predictProba(X);
  }
  classes(): Float64Array {
    this.fittedState("classes");
    const b = this.bestEstimator;
    if (!b.classes) throw new TypeError(`${PREFIX} ${this.estimatorType}: the best estimator (${b.estimatorType}) has no classes()`);
    return b.classes();
  }
}

abstract class BaseSearchCV<P extends BaseSearchParams> extends SearchResults<P, SearchState> {
  /** The last compiled search (set by plan() and fit()). */
  graph: SearchGraph | null = null;

  protected abstract candidates(): Params[];

  protected baseConstraints(): ConstraintTable {
    return {
      estimator: { type: "estimator" },
      scoring: [{ type: "null" }, { type: "string" }, { type: "array" }, { type: "any" }],
      refit: [{ type: "boolean" }, { type: "string" }],
      cv: [{ type: "number", integer: true, min: 2 }, { type: "any" }],
      errorScore: [{ type: "enum", values: ["raise"] }, { type: "number", nan: true }],
      returnTrainScore: { type: "boolean" },
    };
  }

  protected baseDefaults(): BaseSearchParams {
    return { estimator: null, scoring: null, refit: true, cv: 5, errorScore: NaN, returnTrainScore: false };
  }

  get tags(): EstimatorTags {
    const e = this.params.estimator;
    const t = isEstimator(e) ? e.tags : {};
    return { classifier: t.classifier, regressor: t.regressor, transformer: t.transformer, requiresY: t.requiresY, allowNaN: t.allowNaN, sampleWeight: t.sampleWeight };
  }

  private estimatorOrThrow(): Estimator {
    const e = this.params.estimator;
    if (!isEstimator(e)) throw new TypeError(`${PREFIX} ${this.estimatorType}: parameter "estimator" must be an estimator, got ${describeValue(e)}`);
    return e;
  }

  /** Display name -> scorer name (null: estimator.score), and the refit metric. */
  private scorers(): { map: Record<string, string | null>; refitMetric: string | null; multi: boolean } {
    const s = this.params.scoring;
    const refit = this.params.refit;
    let map: Record<string, string | null>;
    let multi = false;
    if (s === null || s === undefined) map = { score: null };
    else if (typeof s === "string") map = { score: s };
    else if (Array.isArray(s)) {
      multi = true;
      map = {};
      for (const n of s as string[]) map[n] = n;
    } else {
      multi = true;
      map = { ...(s as Record<string, string>) };
    }
    for (const name of Object.values(map)) if (name !== null) getScorer(name);
    if (multi && Object.keys(map).length === 0) throw new RangeError(`${PREFIX} ${this.estimatorType}: parameter "scoring" is an empty list`);
    let refitMetric: string | null = null;
    if (!multi) refitMetric = refit === false ? null : "score";
    else if (typeof refit === "string") {
      if (!(refit in map)) throw new RangeError(`${PREFIX} ${this.estimatorType}: refit "${refit}" is not one of the scorers ${Object.keys(map).join(", ")}`);
      refitMetric = refit;
    } else if (refit === true) {
      throw new RangeError(`${PREFIX} ${this.estimatorType}: with several scorers, refit must name one of them (${Object.keys(map).join(", ")}) or be false`);
    }
    return { map, refitMetric, multi };
  }

  private splits(X: Matrix, y: Float64Array | undefined, groups: ArrayLike<number> | undefined): Split[] {
    const est = this.estimatorOrThrow();
    const splitter = checkCv(this.params.cv, est.tags.classifier === true && y !== undefined);
    return splitter.split(X.rows, y, groups);
  }

  /** Compiles the search for (X, y) without running it; also kept as `this.graph`. */
  plan(X: Matrix, y?: Float64Array, opts: SearchFitOptions = {}, dataKey?: string): SearchGraph {
    const est = this.estimatorOrThrow();
    const { map } = this.scorers();
    const cands = this.candidates();
    if (cands.length === 0) throw new RangeError(`${PREFIX} ${this.estimatorType}: no candidates to search`);
    const data = { X, y: y ?? null, w: opts.sampleWeight ?? null };
    this.graph = buildSearchGraph(est, cands, this.splits(X, y, opts.groups), data, { scorers: map, returnTrainScore: this.params.returnTrainScore }, dataKey);
    return this.graph;
  }

  /**
   * Runs the plan on `client`. The data is first broadcast to every worker and the graph's data
   * key renamed to the scattered key: the graph's task for it is then already held and not sent
   * again, and since every worker holds the data the split tasks (and what follows them) spread
   * over the workers instead of all landing on the one that would hold it.
   */
  private async runOnCluster(client: Client, X: Matrix, y: Float64Array | undefined, opts: SearchFitOptions): Promise<{ plan: SearchGraph; values: FoldScores[] }> {
    // scatterMany: one Future for the whole object (scatter would give one per field). A fresh
    // key per run (hash: false): a content key would cost a hashing pass over X every fit.
    const [data] = await client.scatterMany([{ X, y: y ?? null, w: opts.sampleWeight ?? null }], { broadcast: true, hash: false });
    try {
      const plan = this.plan(X, y, opts, data.key);
      if ((opts.verbose ?? 0) > 0) {
        const fits = plan.nCandidates * plan.nSplits;
        const nFit = Object.values(plan.fitTasks).reduce((a, b) => a + b, 0);
        console.log(`${this.estimatorType}: fitting ${plan.nSplits} folds for each of ${plan.nCandidates} candidates, totalling ${fits} fits (graph: ${plan.nTasks} tasks, ${nFit} fit tasks, ${plan.fitTasksWithoutSharing - nFit} saved by sharing)`);
      }
      const bar = opts.progress ?? (process.stdout.isTTY === true && process.stderr.isTTY === true);
      const values = (await client.get(plan.graph, plan.scoreKeys.flat(), {
        cache: opts.cache === undefined ? undefined : searchCache(opts.cache),
        progress: bar ? { label: this.estimatorType, unit: "scores" } : false,
      })) as FoldScores[];
      return { plan, values };
    } finally {
      data.release();
    }
  }

  override async fit(X: Matrix, y?: Float64Array, opts: SearchFitOptions = {}): Promise<this> {
    this.best = null;
    return super.fit(X, y, opts);
  }

  protected async fitState(X: Matrix, y: Float64Array | undefined, opts: SearchFitOptions): Promise<SearchState> {
    const est = this.estimatorOrThrow();
    const { map, refitMetric } = this.scorers();
    const cands = this.candidates();
    const client = opts.client === undefined ? defaultClient() : opts.client;
    let plan: SearchGraph;
    let values: FoldScores[];
    if (client) ({ plan, values } = await this.runOnCluster(client, X, y, opts));
    else {
      if (opts.cache !== undefined) throw new TypeError(`${PREFIX} ${this.estimatorType}: the cache option needs a client (connect one, or pass { client })`);
      plan = this.plan(X, y, opts);
      values = (await runGraphLocally(plan.graph, plan.scoreKeys.flat())) as FoldScores[];
    }
    const keys = plan.scoreKeys.flat();
    const byKey = new Map<string, FoldScores>();
    keys.forEach((k, i) => byKey.set(k, values[i]));
    const folds = plan.scoreKeys.map((row) => row.map((k) => byKey.get(k)!));

    const failures: FailedFit[] = [];
    folds.forEach((row, c) => row.forEach((r, f) => r.ok || failures.push({ candidate: c, split: f, params: cands[c], error: r.error ?? "unknown error" })));
    const errorScore = this.params.errorScore;
    if (failures.length && errorScore === "raise") {
      const f0 = failures[0];
      throw new Error(
        `${PREFIX} ${this.estimatorType}: ${failures.length} of ${keys.length} fits failed; the first: candidate ${f0.candidate} ${JSON.stringify(paramsToJSON(f0.params))} on split ${f0.split}: ${f0.error}`,
      );
    }
    if (failures.length === keys.length) {
      throw new Error(`${PREFIX} ${this.estimatorType}: all ${keys.length} fits failed; the first: ${failures[0].error}`);
    }
    const cvResults = assembleResults(cands, folds, Object.keys(map), this.params.returnTrainScore, errorScore === "raise" ? NaN : errorScore);

    let bestIndex: number | null = null;
    let bestParams: Params | null = null;
    let bestScore: number | null = null;
    let bestEstimator: EstimatorJSON | null = null;
    let refitTime: number | null = null;
    if (refitMetric !== null) {
      const ranks = cvResults[`rank_test_${refitMetric}`] as number[];
      bestIndex = ranks.indexOf(1);
      bestParams = cands[bestIndex];
      bestScore = (cvResults[`mean_test_${refitMetric}`] as number[])[bestIndex];
      const t0 = performance.now();
      const b = est.clone().setParams(bestParams);
      await b.fit(X, y, opts.sampleWeight ? { sampleWeight: opts.sampleWeight } : {});
      refitTime = (performance.now() - t0) / 1000;
      this.best = b;
      bestEstimator = b.toJSON();
    }
    // State is plain data: estimator-valued params (a grid over whole steps) are kept as JSON.
    const plainResults = { ...cvResults } as CvResults;
    for (const k of Object.keys(plainResults)) if (k === "params" || k.startsWith("param_")) plainResults[k] = paramsToJSON(plainResults[k]) as Params[];
    return {
      cvResults: plainResults,
      bestIndex,
      bestParams: bestParams && (paramsToJSON(bestParams) as Params),
      bestScore,
      bestEstimator,
      refitTime,
      nSplits: plan.nSplits,
      scorerNames: Object.keys(map),
    };
  }

  transform(X: Matrix): Matrix {
    this.fittedState("transform");
    const b = this.bestEstimator;
    if (!b.transform) throw new TypeError(`${PREFIX} ${this.estimatorType}: the best estimator (${b.estimatorType}) has no transform()`);
    return b.transform(X);
  }
  /** The refit metric's scorer on (X, y), as scikit-learn's search.score. */
  override score(X: Matrix, y?: Float64Array): number {
    const s = this.refitted("score");
    const { map, refitMetric } = this.scorers();
    const name = map[refitMetric ?? s.scorerNames[0]];
    if (name === null) return this.bestEstimator.score(X, y);
    return getScorer(name)(this.bestEstimator, X, y ?? new Float64Array(X.rows));
  }
}

/** A search caches its fits and scores (the splits and transformed rows are cheap to redo and big). */
export function searchCache(opt: CacheOption): CacheOption {
  const { dir, include } = cacheOptions(opt);
  return { dir, include: (k) => /^(search-fit-|search-score-|adaptive-pf-|adaptive-score-)/.test(k) && include(k) };
}

function defaultClient(): Client | null {
  const c = getDefaultComputer();
  return c instanceof Client && !c.closed ? c : null;
}

function assembleResults(cands: readonly Params[], folds: FoldScores[][], scorers: string[], returnTrain: boolean, errorScore: number): CvResults {
  const nC = cands.length;
  const nF = nC ? folds[0].length : 0;
  const r: Record<string, unknown[]> = {};
  const fitTimes = folds.map((row) => row.map((x) => x.fitTime));
  const scoreTimes = folds.map((row) => row.map((x) => x.scoreTime));
  r.mean_fit_time = fitTimes.map(mean);
  r.std_fit_time = fitTimes.map(std);
  r.mean_score_time = scoreTimes.map(mean);
  r.std_score_time = scoreTimes.map(std);
  const names = [...new Set(cands.flatMap((p) => Object.keys(p)))].sort();
  for (const n of names) r[`param_${n}`] = cands.map((p) => (n in p ? p[n] : null));
  r.params = cands.map((p) => ({ ...p }));
  for (const side of returnTrain ? ["test", "train"] : ["test"]) {
    for (const s of scorers) {
      const table = folds.map((row) => row.map((x) => (x.ok ? (side === "test" ? x.test[s] : x.train![s]) : errorScore)));
      for (let f = 0; f < nF; f++) r[`split${f}_${side}_${s}`] = table.map((row) => row[f]);
      const means = table.map(mean);
      r[`mean_${side}_${s}`] = means;
      r[`std_${side}_${s}`] = table.map(std);
      if (side === "test") r[`rank_test_${s}`] = rankScores(means);
    }
  }
  for (let f = 0; f < nF; f++) r[`split${f}_error`] = folds.map((row) => row[f].error);
  return r as CvResults;
}

/** Exhaustive search over a grid (or a list of grids), compiled to one task graph. */
export class GridSearchCV extends BaseSearchCV<GridSearchParams> {
  static override readonly estimatorName: string = "GridSearchCV";
  defaults(): GridSearchParams {
    return { ...this.baseDefaults(), paramGrid: {} };
  }
  constraints(): ConstraintTable {
    return { ...this.baseConstraints(), paramGrid: [{ type: "array" }, { type: "any" }] };
  }
  protected candidates(): Params[] {
    return expandGrid(this.params.paramGrid);
  }
}

/** nIter seeded samples of lists and distributions, compiled to one task graph. */
export class RandomizedSearchCV extends BaseSearchCV<RandomizedSearchParams> {
  static override readonly estimatorName: string = "RandomizedSearchCV";
  defaults(): RandomizedSearchParams {
    return { ...this.baseDefaults(), paramDistributions: {}, nIter: 10, seed: 0 };
  }
  constraints(): ConstraintTable {
    return {
      ...this.baseConstraints(),
      paramDistributions: { type: "any" },
      nIter: { type: "number", integer: true, min: 1 },
      seed: { type: "number", integer: true },
    };
  }
  protected candidates(): Params[] {
    return sampleParams(this.params.paramDistributions, this.params.nIter, this.params.seed);
  }
}

registerEstimator(GridSearchCV, import.meta.url);
registerEstimator(RandomizedSearchCV, import.meta.url);
