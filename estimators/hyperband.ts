/**
 * Hyperband (Li et al. 2018, as dask-ml's HyperbandSearchCV): several successive-halving
 * brackets that trade many candidates on a small budget against few on a large one, run at the
 * same time. Bracket s starts N_s candidates with r_s = floor(R / eta^s) units of the resource
 * and keeps floor(n / eta) of them per rung, each with eta times more, up to R (`maxIter`).
 * Brackets do not wait for each other: a bracket's next rung is submitted as soon as its own
 * rung's last score arrives (adaptive.ts). With an estimator that has partialFit, models are
 * continued across rungs on the workers, as dask-ml's; without it, each rung refits with the
 * resource param (e.g. `maxIter` or `nEstimators`) set to its budget.
 */
import { PREFIX, registerEstimator, type ConstraintTable, type Estimator, type Params } from "./base.js";
import { AdaptiveSearchCV, type AdaptiveSearchParams, type Bracket } from "./adaptive.js";
import { HalvingBracket } from "./halving.js";
import { sampleParams, type Distribution } from "./search.js";

export interface HyperbandSearchParams extends AdaptiveSearchParams {
  paramDistributions: Record<string, readonly unknown[] | Distribution>;
  /** R: the most resources (partialFit calls, or the resource param's value) one candidate gets. */
  maxIter: number;
  /** eta: how many candidates are dropped per rung, and how much the budget grows. Default 3. */
  aggressiveness: number;
}

export interface HyperbandBracketPlan {
  /** s: the bracket's index (s_max first, as dask-ml lists them). */
  bracket: number;
  /** Candidates of the first rung. */
  n: number;
  /** Resources of the first rung. */
  r: number;
  /** Resources and candidates of each rung. */
  resources: number[];
  candidates: number[];
}

/** `floor(log_eta(R))` without the rounding of exact powers. */
function floorLog(x: number, base: number): number {
  let k = Math.floor(Math.log(x) / Math.log(base));
  while (base ** (k + 1) <= x) k++;
  while (k > 0 && base ** k > x) k--;
  return k;
}

/** dask-ml's `_get_hyperband_params` plus each bracket's rungs: s_max ... 0. */
export function hyperbandBrackets(R: number, eta = 3): HyperbandBracketPlan[] {
  const sMax = floorLog(R, eta);
  const B = (sMax + 1) * R;
  const out: HyperbandBracketPlan[] = [];
  for (let s = sMax; s >= 0; s--) {
    const n = Math.ceil(((B / R) * eta ** s) / (s + 1));
    const r = Math.floor(R * eta ** -s);
    const resources: number[] = [];
    const candidates: number[] = [];
    let ni = n;
    for (let i = 0; i <= s && ni >= 1; i++) {
      resources.push(i === s ? R : Math.min(R, Math.floor(r * eta ** i)));
      candidates.push(ni);
      ni = Math.floor(ni / eta);
    }
    out.push({ bracket: s, n, r, resources, candidates });
  }
  return out;
}

/** Hyperband over sampled candidates (dask-ml's HyperbandSearchCV, on cross-validation splits). */
export class HyperbandSearchCV extends AdaptiveSearchCV<HyperbandSearchParams> {
  static override readonly estimatorName: string = "HyperbandSearchCV";
  /** The brackets of the last fit. */
  brackets: HyperbandBracketPlan[] = [];

  defaults(): HyperbandSearchParams {
    return {
      estimator: null,
      scoring: null,
      refit: true,
      cv: 3,
      errorScore: NaN,
      returnTrainScore: false,
      resource: "partialFit",
      seed: 0,
      paramDistributions: {},
      maxIter: 81,
      aggressiveness: 3,
    };
  }

  constraints(): ConstraintTable {
    return {
      ...this.adaptiveConstraints(),
      paramDistributions: { type: "any" },
      maxIter: { type: "number", integer: true, min: 1 },
      aggressiveness: { type: "number", min: 1, minExclusive: true },
    };
  }

  protected makeBrackets(ctx: { estimator: Estimator }): { brackets: Bracket[]; info: Record<string, number> } {
    const r = this.params.resource;
    if (r === "nSamples") throw new RangeError(`${PREFIX} HyperbandSearchCV: resource "nSamples" is not supported; use "partialFit" or an estimator param such as "maxIter"`);
    const plans = hyperbandBrackets(this.params.maxIter, this.params.aggressiveness);
    const total = plans.reduce((s, p) => s + p.n, 0);
    const all = sampleParams(this.params.paramDistributions, total, this.params.seed);
    this.checkResource(ctx.estimator, all);
    this.brackets = plans;
    const param = r === "partialFit" ? null : r;
    const eta = this.params.aggressiveness;
    let at = 0;
    const brackets = plans.map((p, id) => {
      const cands: Params[] = all.slice(at, at + p.n);
      at += p.n;
      return new HalvingBracket(id, cands, p.resources, (_i, n) => Math.max(1, Math.floor(n / eta)), param);
    });
    return { brackets, info: { nBrackets: plans.length, nCandidates: total, maxIter: this.params.maxIter } };
  }

  /** The best mean test score among each bracket's last rung (the models trained the longest there). */
  protected selectBest(rows: readonly { iter: number; bracket: number; mean: number }[]): number | null {
    const lastIter = new Map<number, number>();
    for (const r of rows) lastIter.set(r.bracket, Math.max(lastIter.get(r.bracket) ?? 0, r.iter));
    let best: number | null = null;
    rows.forEach((r, i) => {
      if (r.iter !== lastIter.get(r.bracket) || Number.isNaN(r.mean)) return;
      if (best === null || r.mean > rows[best].mean) best = i;
    });
    return best;
  }

  /** Per bracket, the resources of each rung run. */
  get nResources(): number[][] {
    return this.fittedState("nResources").nResources;
  }
  get nCandidates(): number[][] {
    return this.fittedState("nCandidates").nCandidates;
  }
}

registerEstimator(HyperbandSearchCV, import.meta.url);
