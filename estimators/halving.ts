/**
 * Successive halving (scikit-learn's HalvingGridSearchCV / HalvingRandomSearchCV): every
 * candidate gets a small budget of a resource (training rows, an estimator param such as
 * `maxIter` / `nEstimators`, or partialFit calls), the best 1/factor move on with factor times
 * more, until one rung is left. The schedule and the choice of survivors follow scikit-learn
 * 1.2's `_run_search` and `_top_k`; each rung is a task graph, and the next rung is submitted as
 * soon as the last score of the current one arrives (adaptive.ts).
 */
import { PREFIX, registerEstimator, type ConstraintTable, type Estimator, type Params } from "./base.js";
import { AdaptiveSearchCV, topK, type AdaptiveSearchParams, type Bracket, type RungPlan } from "./adaptive.js";
import { expandGrid, sampleParams, type Distribution, type ParamGrid } from "./search.js";

export interface HalvingSearchParams extends AdaptiveSearchParams {
  /** Survivors per rung: 1/factor of the candidates (ceil); resources grow by factor. Default 3. */
  factor: number;
  /** Resources of the first rung: a number, "smallest" or "exhaust" (scikit-learn's meanings). */
  minResources: number | "smallest" | "exhaust";
  /** Most resources a candidate may get; "auto" = the number of samples (resource "nSamples" only). */
  maxResources: number | "auto";
  /** Start eliminating at minResources until few enough candidates are left for the budget. */
  aggressiveElimination: boolean;
}

export interface HalvingGridSearchParams extends HalvingSearchParams {
  paramGrid: ParamGrid | ParamGrid[];
}

export interface HalvingRandomSearchParams extends HalvingSearchParams {
  paramDistributions: Record<string, readonly unknown[] | Distribution>;
  /** Candidates of the first rung; "exhaust": maxResources / minResources of them. */
  nCandidates: number | "exhaust";
}

/** The schedule scikit-learn's successive halving runs (all fields as its trailing-underscore attributes). */
export interface HalvingSchedule {
  minResources: number;
  maxResources: number;
  nRequiredIterations: number;
  nPossibleIterations: number;
  nIterations: number;
  /** Resources of each iteration. */
  nResources: number[];
  /** Candidates of each iteration. */
  nCandidates: number[];
}

/** `floor(log_base(x))`, robust to the rounding of exact powers (log(27)/log(3) = 3.0000000000000004 or 2.9999...). */
function floorLog(x: number, base: number): number {
  let k = Math.floor(Math.log(x) / Math.log(base));
  while (base ** (k + 1) <= x) k++;
  while (k > 0 && base ** k > x) k--;
  return k;
}

/**
 * scikit-learn's schedule for `nCandidates` candidates. `minResources` / `maxResources` are the
 * resolved numbers (minResources before the "exhaust" adjustment, which `exhaust` asks for).
 */
export function halvingSchedule(nCandidates: number, o: { factor: number; minResources: number; maxResources: number; exhaust: boolean; aggressiveElimination: boolean }): HalvingSchedule {
  const { factor } = o;
  const nRequired = 1 + floorLog(nCandidates, factor);
  let minR = o.minResources;
  if (o.exhaust) minR = Math.max(minR, Math.floor(o.maxResources / factor ** (nRequired - 1)));
  const nPossible = 1 + floorLog(Math.floor(o.maxResources / minR), factor);
  const nIterations = o.aggressiveElimination ? nRequired : Math.min(nPossible, nRequired);
  const nResources: number[] = [];
  const nCands: number[] = [];
  let n = nCandidates;
  for (let itr = 0; itr < nIterations; itr++) {
    const power = o.aggressiveElimination ? Math.max(0, itr - nRequired + nPossible) : itr;
    nResources.push(Math.min(Math.floor(factor ** power * minR), o.maxResources));
    nCands.push(n);
    n = Math.ceil(n / factor);
  }
  return { minResources: minR, maxResources: o.maxResources, nRequiredIterations: nRequired, nPossibleIterations: nPossible, nIterations, nResources, nCandidates: nCands };
}

/** One successive-halving bracket over fixed rung sizes (also hyperband's brackets). */
export class HalvingBracket implements Bracket {
  private iter = 0;
  private cands: Params[];
  private lineage: number[];

  constructor(
    readonly id: number,
    candidates: readonly Params[],
    /** Resources per rung; the number of rungs run. */
    private readonly resources: readonly number[],
    /** Survivors of rung i: keep(i, n) of its n candidates. */
    private readonly keep: (iter: number, n: number) => number,
    /** Resource param set on every candidate (null: nSamples / partialFit). */
    private readonly resourceParam: string | null,
  ) {
    this.cands = [...candidates];
    this.lineage = candidates.map((_, i) => i);
  }

  private plan(): RungPlan | null {
    if (this.iter >= this.resources.length || this.cands.length === 0) return null;
    const r = this.resources[this.iter];
    const candidates = this.resourceParam === null ? this.cands.map((c) => ({ ...c })) : this.cands.map((c) => ({ ...c, [this.resourceParam!]: r }));
    return { candidates, lineage: [...this.lineage], resources: r };
  }

  first(): RungPlan | null {
    return this.plan();
  }

  next(means: readonly number[]): RungPlan | null {
    const k = this.keep(this.iter, this.cands.length);
    const idx = topK(means, k);
    this.cands = idx.map((i) => this.cands[i]);
    this.lineage = idx.map((i) => this.lineage[i]);
    this.iter++;
    return this.plan();
  }
}

abstract class BaseHalving<P extends HalvingSearchParams> extends AdaptiveSearchCV<P> {
  /** The schedule of the last fit (scikit-learn's n_resources_, n_candidates_, ...). */
  schedule: HalvingSchedule | null = null;

  protected abstract candidates(minResources: number, maxResources: number): Params[];

  protected halvingDefaults(): HalvingSearchParams {
    return {
      estimator: null,
      scoring: null,
      refit: true,
      cv: 5,
      errorScore: NaN,
      returnTrainScore: true,
      resource: "nSamples",
      seed: 0,
      factor: 3,
      minResources: "exhaust",
      maxResources: "auto",
      aggressiveElimination: false,
    };
  }

  protected halvingConstraints(): ConstraintTable {
    return {
      ...this.adaptiveConstraints(),
      factor: { type: "number", min: 1, minExclusive: true },
      minResources: [{ type: "number", integer: true, min: 1 }, { type: "enum", values: ["smallest", "exhaust"] }],
      maxResources: [{ type: "number", integer: true, min: 1 }, { type: "enum", values: ["auto"] }],
      aggressiveElimination: { type: "boolean" },
    };
  }

  protected resolveResources(nSamples: number, nSplits: number, nClasses: number): { min: number; max: number } {
    const p = this.params;
    const bySamples = p.resource === "nSamples";
    let min: number;
    if (typeof p.minResources === "number") min = p.minResources;
    else min = bySamples ? nSplits * 2 * nClasses : 1;
    let max: number;
    if (p.maxResources === "auto") {
      if (!bySamples) throw new RangeError(`${PREFIX} ${this.estimatorType}: maxResources "auto" is only for resource "nSamples"; give a number for resource "${p.resource}"`);
      max = nSamples;
    } else max = p.maxResources;
    if (bySamples && max > nSamples) throw new RangeError(`${PREFIX} ${this.estimatorType}: maxResources ${max} is more than the ${nSamples} samples`);
    if (min > max) throw new RangeError(`${PREFIX} ${this.estimatorType}: minResources ${min} is greater than maxResources ${max}`);
    return { min, max };
  }

  protected makeBrackets(ctx: { nSamples: number; nSplits: number; nClasses: number; estimator: Estimator }): { brackets: Bracket[]; info: Record<string, number> } {
    const { min, max } = this.resolveResources(ctx.nSamples, ctx.nSplits, ctx.nClasses);
    const cands = this.candidates(min, max);
    if (cands.length === 0) throw new RangeError(`${PREFIX} ${this.estimatorType}: no candidates to search`);
    this.checkResource(ctx.estimator, cands);
    const s = halvingSchedule(cands.length, {
      factor: this.params.factor,
      minResources: min,
      maxResources: max,
      exhaust: this.params.minResources === "exhaust",
      aggressiveElimination: this.params.aggressiveElimination,
    });
    this.schedule = s;
    const r = this.params.resource;
    const param = r === "nSamples" || r === "partialFit" ? null : r;
    const factor = this.params.factor;
    const bracket = new HalvingBracket(0, cands, s.nResources, (_i, n) => Math.ceil(n / factor), param);
    return {
      brackets: [bracket],
      info: {
        minResources: s.minResources,
        maxResources: s.maxResources,
        nRequiredIterations: s.nRequiredIterations,
        nPossibleIterations: s.nPossibleIterations,
        nIterations: s.nIterations,
        nRemainingCandidates: s.nIterations > 0 ? Math.ceil(s.nCandidates[s.nIterations - 1] / factor) : cands.length,
      },
    };
  }

  /** scikit-learn's `_select_best_index`: the best mean test score of the last iteration. */
  protected selectBest(rows: readonly { iter: number; mean: number }[]): number | null {
    const last = Math.max(...rows.map((r) => r.iter));
    let best: number | null = null;
    rows.forEach((r, i) => {
      if (r.iter !== last || Number.isNaN(r.mean)) return;
      if (best === null || r.mean > rows[best].mean) best = i;
    });
    return best;
  }

  /** Resources per iteration (scikit-learn's n_resources_). */
  get nResources(): number[] {
    return this.fittedState("nResources").nResources[0];
  }
  /** Candidates per iteration (scikit-learn's n_candidates_). */
  get nCandidates(): number[] {
    return this.fittedState("nCandidates").nCandidates[0];
  }
  get nIterations(): number {
    return this.fittedState("nIterations").info.nIterations;
  }
  get nRemainingCandidates(): number {
    return this.fittedState("nRemainingCandidates").info.nRemainingCandidates;
  }
  get minResources(): number {
    return this.fittedState("minResources").info.minResources;
  }
  get maxResources(): number {
    return this.fittedState("maxResources").info.maxResources;
  }
}

/** Successive halving over a grid (scikit-learn's HalvingGridSearchCV). */
export class HalvingGridSearchCV extends BaseHalving<HalvingGridSearchParams> {
  static override readonly estimatorName: string = "HalvingGridSearchCV";
  defaults(): HalvingGridSearchParams {
    return { ...this.halvingDefaults(), paramGrid: {} };
  }
  constraints(): ConstraintTable {
    return { ...this.halvingConstraints(), paramGrid: [{ type: "array" }, { type: "any" }] };
  }
  protected candidates(): Params[] {
    return expandGrid(this.params.paramGrid);
  }
}

/** Successive halving over sampled candidates (scikit-learn's HalvingRandomSearchCV). */
export class HalvingRandomSearchCV extends BaseHalving<HalvingRandomSearchParams> {
  static override readonly estimatorName: string = "HalvingRandomSearchCV";
  defaults(): HalvingRandomSearchParams {
    return { ...this.halvingDefaults(), minResources: "smallest", paramDistributions: {}, nCandidates: "exhaust" };
  }
  constraints(): ConstraintTable {
    return {
      ...this.halvingConstraints(),
      paramDistributions: { type: "any" },
      nCandidates: [{ type: "number", integer: true, min: 1 }, { type: "enum", values: ["exhaust"] }],
    };
  }
  protected candidates(minResources: number, maxResources: number): Params[] {
    const n = this.params.nCandidates === "exhaust" ? Math.floor(maxResources / minResources) : this.params.nCandidates;
    return sampleParams(this.params.paramDistributions, n, this.params.seed);
  }
}

registerEstimator(HalvingGridSearchCV, import.meta.url);
registerEstimator(HalvingRandomSearchCV, import.meta.url);
