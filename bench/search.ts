/**
 * Hyperparameter search: part B of ../shared/anchors/python/bench_search.py, on LocalCluster(2
 * worker processes, 1 thread each):
 *
 *   npm run bench -- search [--quick] [--samples N] [--repeat R] [--solver S] [--no-anchor]
 *
 * make_classification(n_samples=N, n_features=50, random_state=0), split 50/50 (random_state=0),
 * exported by the script itself (`lr --export-only`, cached in bench/out/search/) so both sides
 * fit the same rows. GridSearchCV(LogisticRegression) over C = logspace(-4, 4, 20) x penalty
 * {l1, l2}, cv = 3 (stratified, as scikit-learn's for a classifier): 40 candidates x 3 = 120 fits +
 * 1 refit. scikit-learn (`LogisticRegression(solver='saga', max_iter=200)`, n_jobs=2) and, where
 * importable, dask-ml are measured by the script in the same run. Reported: median wall time of
 * R fits (refit included, as the script's), best params and score, the largest difference of the
 * per-candidate mean test scores, the compiled graph's task count and the fits that prefix
 * sharing saved. --quick: N = 2,000, R = 1. --solver: LogisticRegression's solver (default lbfgs,
 * as the script names saga; "auto" picks newton for l2 here, about 3x slower per l2 fit on this
 * problem).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Client } from "../src/client/client.js";
import { isMain } from "../src/main-guard.js";
import { GridSearchCV, LogisticRegression } from "../estimators/index.js";
import type { Matrix } from "../src/data/matrix.js";
import { anchorsDir, isSkipped, num, PYTHON, readRecorded, record, repoRoot, runAnchor, type AnchorOutcome } from "./lib/anchor.js";
import { numberOption, parseArgs } from "./lib/args.js";
import { emit, progress, timeit } from "./lib/report.js";

const BENCH = "search";
const P = 50;
const SKLEARN_RUN = "sklearn GridSearchCV n_jobs=2 (loky)";
const DASK_ML_RUN = "dask-ml GridSearchCV (distributed, 2 workers)";

interface Split {
  X: Matrix;
  y: Float64Array;
}

/** bench_search.py's train / test rows for N samples, exported once into bench/out/search/. */
function loadData(n: number): { train: Split; test: Split } {
  const dir = path.join(repoRoot(), "bench", "out", "search");
  const base = path.join(dir, `search_lr_n${n}`);
  if (!existsSync(`${base}.test.y.f64`)) {
    mkdirSync(dir, { recursive: true });
    const script = path.join(anchorsDir(), "python", "bench_search.py");
    progress(`exporting ${n} samples with ${script}`);
    const r = spawnSync(PYTHON, [script, "lr", "--lr-samples", String(n), "--export", dir, "--export-only"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`skein bench search: ${script} --export failed (${r.status}): ${r.stderr.slice(-600)}`);
  }
  const read = (file: string): Float64Array => {
    const buf = readFileSync(file);
    const out = new Float64Array(buf.byteLength / 8);
    new Uint8Array(out.buffer).set(buf);
    return out;
  };
  const side = (s: string): Split => {
    const y = read(`${base}.${s}.y.f64`);
    const X = read(`${base}.${s}.X.f64`);
    if (X.length !== y.length * P) throw new Error(`skein bench search: ${base}.${s}.X.f64 has ${X.length} values, expected ${y.length * P}`);
    return { X: { rows: y.length, cols: P, data: X }, y };
  };
  return { train: side("train"), test: side("test") };
}

/** numpy.logspace(-4, 4, 20), computed as numpy does (10 ** linspace). */
function logspace(a: number, b: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => 10 ** (a + ((b - a) * i) / (n - 1)));
}

/** The anchor's per-candidate mean test scores, keyed `penalty/C` (C to 6 significant digits). */
function anchorMeans(file: string | null, run: string): Map<string, number> | null {
  if (!file || !existsSync(file)) return null;
  const full = JSON.parse(readFileSync(file, "utf8")) as unknown;
  const r = record(full, "logreg_grid", "runs", run);
  const rows = r?.mean_test_score_per_candidate;
  if (!Array.isArray(rows)) return null;
  const out = new Map<string, number>();
  for (const x of rows as { C: number; penalty: string; mean_test_score: number }[]) out.set(`${x.penalty}/${x.C.toPrecision(6)}`, x.mean_test_score);
  return out;
}

export async function run(args: string[]): Promise<void> {
  const a = parseArgs(args, { flags: ["quick", "no-anchor"], values: ["samples", "repeat", "solver"] }, "skein bench search");
  const solver = (a.values.get("solver") ?? "lbfgs") as "lbfgs";
  const quick = a.flags.has("quick");
  const n = numberOption(a, "samples", quick ? 2000 : 20_000);
  const repeat = numberOption(a, "repeat", quick ? 1 : 3);
  const { train, test } = loadData(n);
  progress(`loaded ${train.X.rows} train / ${test.X.rows} test rows x ${P}`);

  // The anchor first, so the cluster's processes do not compete with it.
  let anchor: AnchorOutcome = { skipped: "--no-anchor" };
  if (!a.flags.has("no-anchor")) {
    progress("running bench_search.py lr (scikit-learn, dask-ml where importable)");
    anchor = await runAnchor("bench_search.py", ["lr", "1", String(repeat), "--lr-samples", String(n)], {
      modules: ["sklearn", "dask", "distributed"],
      onProgress: (l) => progress("  " + l),
    });
    if (isSkipped(anchor)) progress(`anchor skipped: ${anchor.skipped}`);
  }

  const grid = { C: logspace(-4, 4, 20), penalty: ["l1", "l2"] };
  const client = await Client.connect({ nWorkers: 2, threadsPerWorker: 1 });
  let search: GridSearchCV | null = null;
  let t;
  try {
    // Warm-up, untimed: module loading and JIT on the workers.
    await new GridSearchCV({ estimator: new LogisticRegression({ solver }), paramGrid: { C: [1] }, cv: 3 }).fit(train.X, train.y, { client, progress: false });
    t = await timeit(async () => {
      search = new GridSearchCV({ estimator: new LogisticRegression({ solver }), paramGrid: grid, cv: 3 });
      await search.fit(train.X, train.y, { client, progress: false });
    }, repeat);
  } finally {
    await client.close();
  }
  const s = search as unknown as GridSearchCV;
  const plan = s.graph!;
  const fitTasks = Object.values(plan.fitTasks).reduce((x, y) => x + y, 0);
  const testScore = s.score(test.X, test.y);
  const best = s.bestParams as { C: number; penalty: string };
  progress(`skein: ${t.median.toFixed(3)} s, best ${JSON.stringify(best)} ${s.bestScore.toFixed(5)}, test ${testScore.toFixed(5)}; graph ${plan.nTasks} tasks, ${fitTasks} fits (${plan.fitTasksWithoutSharing - fitTasks} saved by sharing)`);

  const ours = new Map<string, number>();
  const r = s.cvResults;
  (r.params as { C: number; penalty: string }[]).forEach((p, i) => ours.set(`${p.penalty}/${p.C.toPrecision(6)}`, (r.mean_test_score as number[])[i]));
  const common = {
    samples: n,
    solver,
    train_rows: train.X.rows,
    repeat,
    samples_s: t.samples,
    min_s: t.min,
    n_candidates: r.params.length,
    graph_tasks: plan.nTasks,
    fit_tasks: fitTasks,
    fits_saved_by_sharing: plan.fitTasksWithoutSharing - fitTasks,
    best_params: best,
    best_score: s.bestScore,
    test_score: testScore,
  };

  for (const [run, target] of [
    [SKLEARN_RUN, 2],
    [DASK_ML_RUN, null],
  ] as const) {
    const row = isSkipped(anchor) ? null : record(anchor.data, "results", "logreg_grid", run);
    const why = isSkipped(anchor) ? anchor.skipped : (record(anchor.data, "skipped")?.[`logreg_grid/${run}`] as string | undefined) ?? (row ? undefined : `no row "${run}"`);
    let maxDiff: number | null = null;
    let sameBest: boolean | null = null;
    let within: number | null = null;
    const outside: { candidate: string; ours: number; anchor: number }[] = [];
    if (row) {
      const means = anchorMeans(isSkipped(anchor) ? null : anchor.file, run);
      if (means) {
        maxDiff = 0;
        within = 0;
        for (const [k, v] of means) {
          const o = ours.get(k) ?? NaN;
          const d = Math.abs(v - o);
          maxDiff = Math.max(maxDiff, d);
          if (d <= 1e-3) within++;
          else outside.push({ candidate: k, ours: o, anchor: v });
        }
        if (Number.isNaN(maxDiff)) maxDiff = null;
      }
      const bp = record(row, "best_params_");
      sameBest = bp !== null && bp.penalty === best.penalty && typeof bp.C === "number" && bp.C.toPrecision(6) === best.C.toPrecision(6);
    }
    emit({
      bench: BENCH,
      case: `GridSearchCV LogisticRegression 40 candidates x cv=3 vs ${run}`,
      ours: t.median,
      anchor: row ? num(row, "median_s") : null,
      unit: "s",
      better: "lower",
      target,
      anchor_source: row ? "measured" : "none",
      ...(row ? {} : { anchor_missing: why }),
      anchor_best_params: row ? row.best_params_ : null,
      anchor_best_score: row ? num(row, "best_score_") : null,
      anchor_test_score: row ? num(row, "test_score") : null,
      same_best_params: sameBest,
      max_abs_diff_mean_test_score: maxDiff,
      scores_within_1e3: maxDiff === null ? null : maxDiff <= 1e-3,
      candidates_within_1e3: within,
      candidates_outside_1e3: outside,
      ...common,
    });
  }

  // dask-ml is not importable here: its figures recorded in ../shared/anchors/results (20,000 samples only).
  const measuredDask = !isSkipped(anchor) && record(anchor.data, "results", "logreg_grid", DASK_ML_RUN) !== null;
  if (!measuredDask && n === 20_000) {
    const rec = readRecorded("bench_search_all.json");
    const row = isSkipped(rec) ? null : record(rec.data, "logreg_grid", "runs", DASK_ML_RUN);
    emit({
      bench: BENCH,
      case: `GridSearchCV LogisticRegression 40 candidates x cv=3 vs ${DASK_ML_RUN} (recorded)`,
      ours: t.median,
      anchor: row ? num(row, "median_s") : null,
      unit: "s",
      better: "lower",
      target: null,
      anchor_source: row ? "recorded" : "none",
      ...(row ? { note: "recorded once on this kind of machine, not measured in this run" } : { anchor_missing: isSkipped(rec) ? rec.skipped : `no row "${DASK_ML_RUN}"` }),
      anchor_best_params: row ? row.best_params_ : null,
      anchor_best_score: row ? num(row, "best_score_") : null,
      ...common,
    });
  }
}

if (isMain(import.meta)) {
  await run(process.argv.slice(2));
}
