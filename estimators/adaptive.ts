/**
 * The machinery shared by the adaptive searches (HalvingGridSearchCV, HalvingRandomSearchCV,
 * HyperbandSearchCV): brackets of rungs, each rung compiled to a task graph (the grid search's
 * graph, with prefix sharing, or a chain of partialFit continuations), and a driver that reads
 * scores as they complete (the client's asCompleted) and submits a bracket's next rung as soon as
 * its last score arrives, while other brackets are still running.
 *
 * A bracket is a small state machine: `first()` gives its first rung, `next(means)` the rung
 * after one whose mean test scores are `means` (or null when it is done). The driver does the I/O.
 */
import { AsCompleted } from "../src/client/as-completed.js";
import { Client } from "../src/client/client.js";
import type { Future } from "../src/client/future.js";
import { ProgressReporter } from "../src/client/progress.js";
import type { Matrix } from "../src/data/matrix.js";
import type { CacheOption } from "../src/graph/cache.js";
import { getDefaultComputer } from "../src/graph/delayed.js";
import { tokenize } from "../src/graph/tokenize.js";
import { partialFitStep } from "./adaptive-tasks.js";
import {
  PREFIX,
  describeValue,
  isEstimator,
  paramsToJSON,
  type ConstraintTable,
  type Estimator,
  type EstimatorJSON,
  type EstimatorTags,
  type Params,
} from "./base.js";
import { getScorer } from "./metrics.js";
import { buildSearchGraph, rankScores, searchCache, SearchResults, type BaseSearchParams, type CvResults, type SearchFitOptions, type SearchResultState } from "./search.js";
import { scoreFold, selectRows, type FoldScores, type ScoreSpec, type StepSpec } from "./search-tasks.js";
import { Rng, checkCv, type Split } from "./split.js";

// ------------------------------------------------------------------ brackets and rungs

/** One rung of one bracket: these candidates, trained with `resources` units of the resource. */
export interface RungPlan {
  /** Candidates as the search reports them (with the resource param when the resource is a param). */
  candidates: Params[];
  /** Per candidate: its lineage id in the bracket (the model a partialFit rung continues). */
  lineage: number[];
  resources: number;
}

export interface Bracket {
  readonly id: number;
  first(): RungPlan | null;
  next(means: readonly number[]): RungPlan | null;
}

/**
 * scikit-learn's `_top_k`: the k best of `means` by ascending score, NaN counted worst; returns
 * indices in ascending score order (the order the next rung lists them in). Stable for ties.
 */
export function topK(means: readonly number[], k: number): number[] {
  const idx = means.map((_, i) => i);
  const key = (i: number) => (Number.isNaN(means[i]) ? -Infinity : means[i]);
  idx.sort((a, b) => {
    const na = Number.isNaN(means[a]);
    const nb = Number.isNaN(means[b]);
    if (na !== nb) return na ? -1 : 1;
    return key(a) - key(b);
  });
  return idx.slice(Math.max(0, idx.length - k));
}

// ------------------------------------------------------------------ options

/** SearchFitOptions; `verbose` 1 prints a line per rung, 2 also each candidate's mean score. */
export type AdaptiveFitOptions = SearchFitOptions;

export interface AdaptiveSearchParams extends BaseSearchParams {
  /** "nSamples", "partialFit" (count of partialFit calls) or the name of an estimator param. */
  resource: string;
  seed: number;
}

/** What every rung of every bracket reported, one row per (rung, candidate). */
interface Row {
  params: Params;
  iter: number;
  resources: number;
  bracket: number;
  folds: FoldScores[];
}

export interface AdaptiveState extends SearchResultState {
  /** Per bracket: resources and candidates of each rung run. */
  nResources: number[][];
  nCandidates: number[][];
  info: Record<string, number>;
}

// ------------------------------------------------------------------ running graphs

/** Where rung graphs run: a client (asCompleted over futures) or this process. */
interface Runner<T> {
  /** Compute `keys` of `graph`; `tags[i]` comes back with key i's value. `hold` keys stay held. */
  submit(graph: Record<string, unknown>, keys: readonly string[], tags: readonly T[], hold: readonly string[]): void;
  /** The next completed (tag, value), or null when nothing is outstanding. */
  next(): Promise<{ tag: T; value: unknown } | null>;
  release(keys: readonly string[]): void;
  close(): void;
}

class ClientRunner<T> implements Runner<T> {
  private readonly ac = new AsCompleted<unknown, [Future<unknown>, unknown]>([], { withResults: true });
  private readonly iter = this.ac[Symbol.asyncIterator]();
  private readonly tags = new Map<Future<unknown>, T>();
  private readonly held = new Map<string, Future<unknown>>();
  private outstanding = 0;
  constructor(
    private readonly client: Client,
    private readonly cache: CacheOption | undefined,
  ) {}
  submit(graph: Record<string, unknown>, keys: readonly string[], tags: readonly T[], hold: readonly string[]): void {
    const futures = this.client.computeGraph(graph, [...keys, ...hold], this.cache === undefined ? {} : { cache: this.cache });
    for (let i = 0; i < hold.length; i++) {
      const f = futures[keys.length + i];
      if (this.held.has(f.key)) f.release();
      else this.held.set(f.key, f);
    }
    const fs = futures.slice(0, keys.length);
    fs.forEach((f, i) => this.tags.set(f, tags[i]));
    this.outstanding += fs.length;
    this.ac.update(fs);
  }
  async next(): Promise<{ tag: T; value: unknown } | null> {
    if (this.outstanding === 0) return null;
    const r = await this.iter.next();
    if (r.done) return null;
    this.outstanding--;
    const [f, value] = r.value;
    const tag = this.tags.get(f)!;
    this.tags.delete(f);
    f.release();
    return { tag, value };
  }
  release(keys: readonly string[]): void {
    for (const k of keys) {
      this.held.get(k)?.release();
      this.held.delete(k);
    }
  }
  close(): void {
    for (const f of this.held.values()) f.release();
    this.held.clear();
    for (const f of this.tags.keys()) f.release();
  }
}

/** In-process evaluation of raw graphs, memoised across rungs (so held models are reused). */
class LocalRunner<T> implements Runner<T> {
  private readonly graph: Record<string, unknown> = {};
  private readonly memo = new Map<string, Promise<unknown>>();
  private readonly done: { tag: T; value: unknown }[] = [];
  private outstanding = 0;
  private wake: (() => void) | undefined;

  submit(graph: Record<string, unknown>, keys: readonly string[], tags: readonly T[]): void {
    for (const k of Object.keys(graph)) if (!(k in this.graph)) this.graph[k] = graph[k];
    keys.forEach((k, i) => {
      this.outstanding++;
      const settle = (value: unknown) => {
        this.done.push({ tag: tags[i], value });
        const w = this.wake;
        this.wake = undefined;
        w?.();
      };
      this.value(k).then(settle, (err: unknown) => settle({ ok: false, error: err instanceof Error ? err.message : String(err), test: {}, train: null, fitTime: 0, scoreTime: 0 }));
    });
  }
  async next(): Promise<{ tag: T; value: unknown } | null> {
    if (this.outstanding === 0) return null;
    while (this.done.length === 0) await new Promise<void>((r) => (this.wake = r));
    this.outstanding--;
    return this.done.shift()!;
  }
  release(keys: readonly string[]): void {
    for (const k of keys) this.memo.delete(k);
  }
  close(): void {
    this.memo.clear();
  }
  private isKey(v: unknown): v is string {
    return typeof v === "string" && Object.prototype.hasOwnProperty.call(this.graph, v);
  }
  private async arg(v: unknown): Promise<unknown> {
    if (this.isKey(v)) return this.value(v);
    if (Array.isArray(v)) {
      if (v.length > 0 && typeof v[0] === "function") return this.call(v);
      return Promise.all(v.map((x) => this.arg(x)));
    }
    return v;
  }
  private async call(task: readonly unknown[]): Promise<unknown> {
    const args = await Promise.all(task.slice(1).map((x) => this.arg(x)));
    return (task[0] as (...a: unknown[]) => unknown)(...args);
  }
  private value(k: string): Promise<unknown> {
    let p = this.memo.get(k);
    if (!p) {
      const v = this.graph[k];
      p = Array.isArray(v) && v.length > 0 && typeof v[0] === "function" ? this.call(v) : this.arg(v);
      this.memo.set(k, p);
    }
    return p;
  }
}

// ------------------------------------------------------------------ the base class

interface Tag {
  bracket: number;
  row: number;
  split: number;
}

interface Data {
  X: Matrix;
  y: Float64Array | null;
  w: Float64Array | null;
}

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

function defaultClient(): Client | null {
  const c = getDefaultComputer();
  return c instanceof Client && !c.closed ? c : null;
}

/** `n` of `idx` without replacement (seeded), kept in their original order. */
export function subsample(idx: Int32Array, n: number, rng: Rng): Int32Array {
  if (n >= idx.length) return idx;
  const a = Int32Array.from(idx);
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(a.length - i);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a.subarray(0, n).sort();
}

/**
 * Base of the adaptive searches. Subclasses give the brackets (`makeBrackets`) once the data's
 * size and the splits are known; this class runs them, keeps scikit-learn's `cv_results_` rows
 * (with `iter` and `n_resources`, and `bracket` for hyperband) and refits the best candidate.
 */
export abstract class AdaptiveSearchCV<P extends AdaptiveSearchParams> extends SearchResults<P, AdaptiveState> {
  protected override readonly noRefitReason: string = "refit: false was given, or every score was NaN";
  /** Fit tasks compiled per rung (after prefix sharing), for inspection. */
  rungGraphs: { bracket: number; iter: number; nTasks: number; fitTasks: number }[] = [];

  protected abstract makeBrackets(ctx: { nSamples: number; nSplits: number; nClasses: number; estimator: Estimator }): { brackets: Bracket[]; info: Record<string, number> };

  /** The best row, given all rows (hyperband and halving differ). */
  protected abstract selectBest(rows: readonly { iter: number; bracket: number; mean: number }[]): number | null;

  protected adaptiveConstraints(): ConstraintTable {
    return {
      estimator: { type: "estimator" },
      scoring: [{ type: "null" }, { type: "string" }],
      refit: { type: "boolean" },
      cv: [{ type: "number", integer: true, min: 2 }, { type: "any" }],
      errorScore: [{ type: "enum", values: ["raise"] }, { type: "number", nan: true }],
      returnTrainScore: { type: "boolean" },
      resource: { type: "string" },
      seed: { type: "number", integer: true },
    };
  }

  get tags(): EstimatorTags {
    const e = this.params.estimator;
    const t = isEstimator(e) ? e.tags : {};
    return { classifier: t.classifier, regressor: t.regressor, transformer: t.transformer, requiresY: t.requiresY, allowNaN: t.allowNaN, sampleWeight: t.sampleWeight };
  }

  protected estimatorOrThrow(): Estimator {
    const e = this.params.estimator;
    if (!isEstimator(e)) throw new TypeError(`${PREFIX} ${this.estimatorType}: parameter "estimator" must be an estimator, got ${describeValue(e)}`);
    return e;
  }

  /** Whether rungs continue models with partialFit instead of refitting. */
  protected continues(est: Estimator): boolean {
    const r = this.params.resource;
    return r !== "nSamples" && est.tags.partialFit === true && typeof est.partialFit === "function";
  }

  protected checkResource(est: Estimator, candidates: readonly Params[]): void {
    const r = this.params.resource;
    if (r === "nSamples") return;
    if (r === "partialFit") {
      if (!this.continues(est)) throw new TypeError(`${PREFIX} ${this.estimatorType}: resource "partialFit" needs an estimator with partialFit (tags.partialFit), ${est.estimatorType} has none`);
      return;
    }
    if (!(r in est.getParams(true))) throw new RangeError(`${PREFIX} ${this.estimatorType}: cannot use resource "${r}": it is not a parameter of ${est.estimatorType}`);
    if (candidates.some((c) => r in c)) throw new RangeError(`${PREFIX} ${this.estimatorType}: cannot use parameter "${r}" as the resource since it is part of the searched parameters`);
  }

  override async fit(X: Matrix, y?: Float64Array, opts: AdaptiveFitOptions = {}): Promise<this> {
    this.best = null;
    return super.fit(X, y, opts);
  }

  protected async fitState(X: Matrix, y: Float64Array | undefined, opts: AdaptiveFitOptions): Promise<AdaptiveState> {
    const est = this.estimatorOrThrow();
    const scoring = this.params.scoring;
    if (scoring !== null && typeof scoring !== "string") throw new TypeError(`${PREFIX} ${this.estimatorType}: only one scorer is supported (scoring must be a name or null), got ${describeValue(scoring)}`);
    if (scoring !== null) getScorer(scoring);
    const score: ScoreSpec = { scorers: { score: scoring }, returnTrainScore: this.params.returnTrainScore };
    const classifier = est.tags.classifier === true && y !== undefined;
    const splits = checkCv(this.params.cv, classifier).split(X.rows, y, opts.groups);
    const nClasses = classifier ? new Set(y).size : 1;
    const { brackets, info } = this.makeBrackets({ nSamples: X.rows, nSplits: splits.length, nClasses, estimator: est });
    const client = opts.client === undefined ? defaultClient() : opts.client;
    if (opts.cache !== undefined && !client) throw new TypeError(`${PREFIX} ${this.estimatorType}: the cache option needs a client (connect one, or pass { client })`);
    const verbose = opts.verbose ?? 0;
    const showBar = opts.progress ?? (process.stdout.isTTY === true && process.stderr.isTTY === true);
    const bar = showBar ? new ProgressReporter(0, { label: this.estimatorType, unit: "fits" }) : null;

    let dataKey: string | undefined;
    let scattered: Future<unknown> | null = null;
    const data: Data = { X, y: y ?? null, w: opts.sampleWeight ?? null };
    if (client) {
      // Broadcast once for every rung (see GridSearchCV.runOnCluster); a fresh key per run.
      [scattered] = await client.scatterMany([data], { broadcast: true, hash: false });
      dataKey = scattered.key;
    }
    const runner: Runner<Tag> = client ? new ClientRunner<Tag>(client, opts.cache === undefined ? undefined : searchCache(opts.cache)) : new LocalRunner<Tag>();
    const compiler = new RungCompiler(est, data, splits, score, this.params.resource, this.continues(est), this.params.seed, dataKey);
    const rows: Row[] = [];
    const pendingRows = new Map<number, { rows: number[]; left: number; iter: number; plan: RungPlan }>();
    const nResources: number[][] = brackets.map(() => []);
    const nCandidates: number[][] = brackets.map(() => []);
    const iters = brackets.map(() => 0);
    this.rungGraphs = [];

    const submit = (b: Bracket, plan: RungPlan | null): void => {
      if (!plan || plan.candidates.length === 0) return;
      const iter = iters[b.id]++;
      nResources[b.id].push(plan.resources);
      nCandidates[b.id].push(plan.candidates.length);
      const rung = compiler.compile(b.id, plan);
      this.rungGraphs.push({ bracket: b.id, iter, nTasks: Object.keys(rung.graph).length, fitTasks: rung.fitTasks });
      if (verbose > 0) {
        const br = brackets.length > 1 ? `bracket ${b.id} ` : "";
        console.log(`${this.estimatorType}: ${br}iter ${iter}: ${plan.candidates.length} candidates, n_resources ${plan.resources}, fitting ${splits.length} folds each (${plan.candidates.length * splits.length} fits)`);
      }
      const keys: string[] = [];
      const tags: Tag[] = [];
      const rowIds: number[] = [];
      plan.candidates.forEach((params, c) => {
        const row = rows.length;
        rows.push({ params, iter, resources: plan.resources, bracket: b.id, folds: new Array(splits.length) });
        rowIds.push(row);
        for (let f = 0; f < splits.length; f++) {
          keys.push(rung.scoreKeys[c][f]);
          tags.push({ bracket: b.id, row, split: f });
        }
      });
      bar?.addTotal(keys.length);
      pendingRows.set(b.id, { rows: rowIds, left: keys.length, iter, plan });
      runner.submit(rung.graph, keys, tags, rung.holdKeys);
      runner.release(rung.releaseKeys);
    };

    try {
      for (const b of brackets) submit(b, b.first());
      for (;;) {
        const done = await runner.next();
        if (!done) break;
        const { tag, value } = done;
        const fs = value as FoldScores;
        rows[tag.row].folds[tag.split] = fs;
        if (fs.ok) bar?.tick(1);
        else bar?.fail(1);
        const pend = pendingRows.get(tag.bracket)!;
        if (--pend.left > 0) continue;
        // The bracket's rung is complete: fail fast, or move on at once.
        const rungRows = pend.rows.map((r) => rows[r]);
        if (this.params.errorScore === "raise") {
          for (const r of rungRows) {
            const bad = r.folds.findIndex((x) => !x.ok);
            if (bad >= 0) throw new Error(`${PREFIX} ${this.estimatorType}: a fit failed (errorScore "raise"): candidate ${JSON.stringify(paramsToJSON(r.params))} on split ${bad} at iter ${r.iter}: ${r.folds[bad].error}`);
          }
        }
        const errorScore = this.params.errorScore === "raise" ? NaN : this.params.errorScore;
        const means = rungRows.map((r) => mean(r.folds.map((x) => (x.ok ? x.test.score : errorScore))));
        if (verbose > 1) rungRows.forEach((r, i) => console.log(`  ${JSON.stringify(paramsToJSON(r.params))}: mean test score ${means[i]}`));
        pendingRows.delete(tag.bracket);
        const b = brackets[tag.bracket];
        const next = b.next(means);
        compiler.retire(tag.bracket, pend.plan, next, runner);
        submit(b, next);
      }
    } finally {
      bar?.done();
      runner.close();
      scattered?.release();
    }

    const allFailed = rows.every((r) => r.folds.every((x) => !x.ok));
    if (rows.length > 0 && allFailed) throw new Error(`${PREFIX} ${this.estimatorType}: all ${rows.length * splits.length} fits failed; the first: ${rows[0].folds[0].error}`);
    const errorScore = this.params.errorScore === "raise" ? NaN : (this.params.errorScore as number);
    const cvResults = assemble(rows, splits.length, this.params.returnTrainScore, errorScore, brackets.length > 1);
    const means = cvResults.mean_test_score as number[];
    const bestIndex = this.params.refit ? this.selectBest(rows.map((r, i) => ({ iter: r.iter, bracket: r.bracket, mean: means[i] }))) : null;
    let bestParams: Params | null = null;
    let bestScore: number | null = null;
    let bestEstimator: EstimatorJSON | null = null;
    let refitTime: number | null = null;
    if (bestIndex !== null) {
      bestParams = rows[bestIndex].params;
      bestScore = means[bestIndex];
      const t0 = performance.now();
      const b = est.clone().setParams(bestParams);
      const fitOpts = opts.sampleWeight ? { sampleWeight: opts.sampleWeight } : {};
      if (this.continues(est)) {
        for (let i = 0; i < rows[bestIndex].resources; i++) await b.partialFit!(X, y, fitOpts);
      } else {
        await b.fit(X, y, fitOpts);
      }
      refitTime = (performance.now() - t0) / 1000;
      this.best = b;
      bestEstimator = b.toJSON();
    }
    const plain = { ...cvResults } as CvResults;
    for (const k of Object.keys(plain)) if (k === "params" || k.startsWith("param_")) plain[k] = paramsToJSON(plain[k]) as Params[];
    return {
      cvResults: plain,
      bestIndex,
      bestParams: bestParams && (paramsToJSON(bestParams) as Params),
      bestScore,
      bestEstimator,
      refitTime,
      nSplits: splits.length,
      nResources,
      nCandidates,
      info,
    };
  }

  /** The search's scorer on (X, y), as scikit-learn's search.score. */
  override score(X: Matrix, y?: Float64Array): number {
    this.refitted("score");
    const name = this.params.scoring;
    if (name === null || typeof name !== "string") return this.bestEstimator.score(X, y);
    return getScorer(name)(this.bestEstimator, X, y ?? new Float64Array(X.rows));
  }
}

// ------------------------------------------------------------------ compiling rungs

interface CompiledRung {
  graph: Record<string, unknown>;
  scoreKeys: string[][];
  /** Keys to keep on the workers after the rung (partialFit models). */
  holdKeys: string[];
  /** Keys no longer needed once this rung is submitted. */
  releaseKeys: string[];
  fitTasks: number;
}

/** Turns rung plans into graphs; remembers each lineage's last model for partialFit rungs. */
class RungCompiler {
  private readonly dataTok: string;
  private readonly dataKey: string;
  /** bracket -> lineage -> per split: [key, task] of the last model. */
  private readonly models = new Map<number, Map<number, { key: string; task: unknown[]; resources: number }[]>>();
  private releasable: string[] = [];

  constructor(
    private readonly est: Estimator,
    private readonly data: Data,
    private readonly splits: readonly Split[],
    private readonly score: ScoreSpec,
    private readonly resource: string,
    private readonly partial: boolean,
    private readonly seed: number,
    dataKey: string | undefined,
  ) {
    this.dataTok = tokenize(data.X.data, data.X.rows, data.X.cols, data.y, data.w);
    this.dataKey = dataKey ?? `search-data-${this.dataTok}`;
  }

  compile(bracket: number, plan: RungPlan): CompiledRung {
    if (this.partial) return this.compilePartial(bracket, plan);
    let splits = this.splits;
    if (this.resource === "nSamples" && plan.resources < this.data.X.rows) {
      // scikit-learn's _SubsampleMetaSplitter: the same fraction of each side of each split.
      const frac = plan.resources / this.data.X.rows;
      const rng = new Rng(this.seed);
      splits = this.splits.map((s) => ({
        train: subsample(s.train, Math.floor(frac * s.train.length), rng),
        test: subsample(s.test, Math.floor(frac * s.test.length), rng),
      }));
    }
    const sg = buildSearchGraph(this.est, plan.candidates, splits, this.data, this.score, this.dataKey);
    const fitTasks = Object.values(sg.fitTasks).reduce((a, b) => a + b, 0);
    const releaseKeys = this.releasable;
    this.releasable = [];
    return { graph: sg.graph, scoreKeys: sg.scoreKeys, holdKeys: [], releaseKeys, fitTasks };
  }

  private compilePartial(bracket: number, plan: RungPlan): CompiledRung {
    const graph: Record<string, unknown> = { [this.dataKey]: this.data };
    const trainKeys: string[] = [];
    const testKeys: string[] = [];
    this.splits.forEach((s, f) => {
      const tok = tokenize(this.dataTok, s.train, s.test);
      trainKeys.push(`search-train-${tok}-${f}`);
      testKeys.push(`search-test-${tok}-${f}`);
      graph[trainKeys[f]] = [selectRows, this.dataKey, s.train];
      graph[testKeys[f]] = [selectRows, this.dataKey, s.test];
    });
    let lineages = this.models.get(bracket);
    if (!lineages) this.models.set(bracket, (lineages = new Map()));
    const scoreKeys: string[][] = [];
    const holdKeys: string[] = [];
    const resourceIsParam = this.resource !== "partialFit";
    plan.candidates.forEach((params, c) => {
      const base = { ...params };
      if (resourceIsParam) delete base[this.resource];
      const e = this.est.clone().setParams(params);
      const spec: StepSpec = { step: "estimator", estimator: { ...e.toJSON(), state: null } as EstimatorJSON };
      const baseTok = tokenize(JSON.stringify(paramsToJSON(base)), JSON.stringify({ ...this.est.toJSON(), state: null }));
      const prev = lineages.get(plan.lineage[c]);
      const row: string[] = [];
      const models: { key: string; task: unknown[]; resources: number }[] = [];
      for (let f = 0; f < this.splits.length; f++) {
        const p = prev?.[f];
        if (p) graph[p.key] = p.task;
        const calls = plan.resources - (p?.resources ?? 0);
        // No more calls (aggressive elimination repeats a budget): the same model, the same key.
        const key = p && calls === 0 ? p.key : `adaptive-pf-${tokenize(trainKeys[f], baseTok, plan.resources)}`;
        const task = p && calls === 0 ? p.task : [partialFitStep, spec, p ? p.key : null, trainKeys[f], calls];
        graph[key] = task;
        const scoreKey = `adaptive-score-${tokenize(key, this.score)}`;
        graph[scoreKey] = [scoreFold, this.score, key, testKeys[f], this.score.returnTrainScore ? trainKeys[f] : null];
        row.push(scoreKey);
        holdKeys.push(key);
        models.push({ key, task, resources: plan.resources });
      }
      lineages.set(plan.lineage[c], models);
      scoreKeys.push(row);
    });
    const holding = new Set(holdKeys);
    const releaseKeys = this.releasable.filter((k) => !holding.has(k));
    this.releasable = [];
    return { graph, scoreKeys, holdKeys, releaseKeys, fitTasks: plan.candidates.length * this.splits.length };
  }

  /** After a rung: models of lineages not continued are released now, the others after the next submit. */
  retire(bracket: number, done: RungPlan, next: RungPlan | null, runner: Runner<Tag>): void {
    const lineages = this.models.get(bracket);
    if (!lineages) return;
    const kept = new Set(next ? next.lineage : []);
    const drop: string[] = [];
    for (const l of done.lineage) {
      const ms = lineages.get(l);
      if (!ms) continue;
      if (kept.has(l)) this.releasable.push(...ms.map((m) => m.key));
      else {
        drop.push(...ms.map((m) => m.key));
        lineages.delete(l);
      }
    }
    runner.release(drop);
  }
}

// ------------------------------------------------------------------ results

function assemble(rows: readonly Row[], nF: number, returnTrain: boolean, errorScore: number, withBracket: boolean): CvResults {
  const r: Record<string, unknown[]> = {};
  const fitTimes = rows.map((row) => row.folds.map((x) => x.fitTime));
  const scoreTimes = rows.map((row) => row.folds.map((x) => x.scoreTime));
  r.mean_fit_time = fitTimes.map(mean);
  r.std_fit_time = fitTimes.map(std);
  r.mean_score_time = scoreTimes.map(mean);
  r.std_score_time = scoreTimes.map(std);
  const names = [...new Set(rows.flatMap((row) => Object.keys(row.params)))].sort();
  for (const n of names) r[`param_${n}`] = rows.map((row) => (n in row.params ? row.params[n] : null));
  r.params = rows.map((row) => ({ ...row.params }));
  for (const side of returnTrain ? ["test", "train"] : ["test"]) {
    const table = rows.map((row) => row.folds.map((x) => (x.ok ? (side === "test" ? x.test.score : x.train!.score) : errorScore)));
    for (let f = 0; f < nF; f++) r[`split${f}_${side}_score`] = table.map((t) => t[f]);
    const means = table.map(mean);
    r[`mean_${side}_score`] = means;
    r[`std_${side}_score`] = table.map(std);
    if (side === "test") r.rank_test_score = rankScores(means);
  }
  r.iter = rows.map((row) => row.iter);
  r.n_resources = rows.map((row) => row.resources);
  if (withBracket) r.bracket = rows.map((row) => row.bracket);
  for (let f = 0; f < nF; f++) r[`split${f}_error`] = rows.map((row) => row.folds[f].error);
  return r as CvResults;
}
