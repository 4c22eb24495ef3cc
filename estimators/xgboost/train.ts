/**
 * `train(params, dtrain, opts)`: XGBoost's training loop as Python's `xgboost.train` (1.7) runs it
 * — same booster construction, one `update` per round, evaluation after each round, and the
 * `EarlyStopping` callback's rule (last metric on the last eval set, strict improvement, best
 * round stored as the `best_iteration` / `best_score` attributes) — so the same params, data and
 * seed give the same model as Python.
 */
import { Booster } from "./booster.js";
import type { BoosterParams } from "./booster.js";
import type { DMatrix } from "./dmatrix.js";

/** Per eval set name, per metric name, one value per round (Python's `evals_result`). */
export type EvalsResult = Record<string, Record<string, number[]>>;

export interface TrainOptions {
  /** Boosting rounds (Python's num_boost_round). Default 10. */
  numBoostRound?: number;
  /** Matrices to evaluate after each round, with their names. */
  evals?: readonly (readonly [DMatrix, string])[];
  /** Stop when the last metric on the last eval set has not improved for this many rounds. */
  earlyStoppingRounds?: number;
  /** Whether the early-stopping metric is maximised; default: by name, as Python (auc, map, ndcg...). */
  maximize?: boolean;
  /** Continue training this saved model: `numBoostRound` more rounds, numbered from 0 as Python's xgb_model. */
  xgbModel?: Uint8Array;
  /** Called after each round with the parsed metrics; return true to stop. */
  onIteration?: (iteration: number, metrics: EvalsResult) => boolean | void;
}

export interface TrainResult {
  booster: Booster;
  evalsResult: EvalsResult;
  /** Set when early stopping ran: the best round and its score. */
  bestIteration?: number;
  bestScore?: number;
}

const MAXIMIZE_PREFIXES = ["auc", "aucpr", "pre", "pre@", "map", "ndcg", "auc@", "aucpr@", "map@", "ndcg@"];

/** Python's rule for a metric's direction when `maximize` is not given. */
export function metricMaximized(metric: string): boolean {
  return metric !== "mape" && MAXIMIZE_PREFIXES.some((p) => metric.startsWith(p));
}

/**
 * Parses `[3]\ttrain-logloss:0.41\teval-auc:0.9` into (data, metric, value) triples, in order.
 * The data name is everything before the last `-` of the key (names may contain `-`).
 */
export function parseEvalLine(line: string): [string, string, number][] {
  const parts = line.trim().split("\t");
  const out: [string, string, number][] = [];
  for (let i = 1; i < parts.length; i++) {
    const colon = parts[i].lastIndexOf(":");
    const key = parts[i].slice(0, colon);
    const dash = key.lastIndexOf("-");
    out.push([key.slice(0, dash), key.slice(dash + 1), Number(parts[i].slice(colon + 1))]);
  }
  return out;
}

export function train(params: BoosterParams, dtrain: DMatrix, opts: TrainOptions = {}): TrainResult {
  const rounds = opts.numBoostRound ?? 10;
  const evals = opts.evals ?? [];
  if (!Number.isInteger(rounds) || rounds < 0) {
    throw new RangeError(`skein xgboost: numBoostRound must be a non-negative integer, got ${rounds}`);
  }
  if (opts.earlyStoppingRounds !== undefined && evals.length === 0) {
    throw new Error("skein xgboost: earlyStoppingRounds needs at least one eval set (evals / evalSet)");
  }
  const booster = Booster.create(params, [dtrain, ...evals.map((e) => e[0])]);
  try {
    const names = dtrain.featureNames();
    if (names.length > 0) booster.setFeatureNames(names);
    if (opts.xgbModel) {
      // Python: Booster(params, cache, model_file=xgb_model) loads, then re-applies params.
      booster.loadModel(opts.xgbModel);
      booster.setParams(params);
    }
    const evalsResult: EvalsResult = {};
    let best: { score: number; iteration: number } | undefined;
    let sinceBest = 0;
    let maximize = opts.maximize;
    for (let i = 0; i < rounds; i++) {
      booster.update(dtrain, i);
      if (evals.length === 0) continue;
      const triples = parseEvalLine(booster.evalSet(evals, i));
      for (const [data, metric, value] of triples) {
        ((evalsResult[data] ??= {})[metric] ??= []).push(value);
      }
      if (opts.onIteration?.(i, evalsResult)) break;
      if (opts.earlyStoppingRounds === undefined || triples.length === 0) continue;
      const [, metric, score] = triples[triples.length - 1];
      maximize ??= metricMaximized(metric);
      if (best === undefined || (maximize ? score > best.score : best.score > score)) {
        best = { score, iteration: i };
        sinceBest = 0;
        booster.setAttr("best_score", pyFloatString(score));
        booster.setAttr("best_iteration", String(i));
      } else {
        sinceBest++;
      }
      if (sinceBest >= opts.earlyStoppingRounds) break;
    }
    // Python's CallbackContainer.after_training stores these on every booster it trains, so
    // saving gives the same bytes as Python's model.
    const bestIteration = best ? best.iteration : booster.boostedRounds() - 1;
    booster.setAttr("best_iteration", String(bestIteration));
    booster.setAttr("best_ntree_limit", String((bestIteration + 1) * layerTrees(booster)));
    return best
      ? { booster, evalsResult, bestIteration: best.iteration, bestScore: best.score }
      : { booster, evalsResult };
  } catch (e) {
    booster.free();
    throw e;
  }
}

/** Trees added per round (Python's `_get_booster_layer_trees`): num_parallel_tree, 0 for gblinear. */
function layerTrees(booster: Booster): number {
  type GB = { name: string; gbtree_model_param?: { num_parallel_tree: string }; gbtree?: { gbtree_model_param: { num_parallel_tree: string } } };
  const gb = (booster.saveConfig() as { learner: { gradient_booster: GB } }).learner.gradient_booster;
  if (gb.name === "gblinear") return 0;
  const param = gb.name === "dart" ? gb.gbtree?.gbtree_model_param : gb.gbtree_model_param;
  return Number(param?.num_parallel_tree ?? 1);
}

/** Python's `str(float)` (shortest round-trip digits; exponent below 1e-4 and from 1e16), so attributes match Python's bytes. */
export function pyFloatString(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mant, expText] = x.toExponential().split("e");
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) return `${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  const s = String(x);
  return s.includes(".") ? s : `${s}.0`;
}
