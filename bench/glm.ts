/**
 * GLM solvers on the dask-glm blog's logistic problem (../shared/anchors/python/bench_glm.py:
 * 1,000,000 x 15, seed 20009, no intercept), on LocalCluster(2 workers, 1 thread each):
 *
 *   npm run bench -- glm [--quick] [--rows N] [--repeat R] [--partitions K] [--tol T]
 *                        [--no-anchor] [--anchor-recorded] [--no-ml]
 *
 * The data are bench_glm.py's own (`--export-only --export DIR`, raw little-endian f64, cached
 * in bench/out/glm/), loaded here and scattered to the workers in K row partitions (default 4).
 * Each skein solver runs through DistributedProblem (one task per partition per evaluation);
 * per solver: median time of R fits, iterations, objective F and train log-loss (mean over rows
 * of log(1 + e^z) - y z, z = X coef: the script's figure). Anchors, in the same output:
 *   - scikit-learn, measured in this run (`bench_glm.py N R sklearn --json`);
 *   - dask-glm's solvers, recorded in ../shared/anchors/results (dask-glm is not importable here);
 *   - ml-logistic-regression (npm), single process, 100 fixed gradient steps (its only mode).
 * --quick: N = 100,000, R = 1.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Client } from "../src/client/client.js";
import { isMain } from "../src/main-guard.js";
import { DistributedProblem, log1pExp, solve } from "../solvers/index.js";
import type { KernelSpec, Partition, SolveOptions, SolverResult } from "../solvers/index.js";
import { anchorRows, anchorsDir, isSkipped, num, PYTHON, readRecorded, repoRoot, runAnchor } from "./lib/anchor.js";
import type { AnchorOutcome } from "./lib/anchor.js";
import { numberOption, parseArgs } from "./lib/args.js";
import { emit, progress, timeit } from "./lib/report.js";
import { spawnSync } from "node:child_process";

const BENCH = "glm";
const P = 15;

interface Data {
  X: Float64Array;
  y: Float64Array;
  n: number;
}

/** bench_glm.py's data for N rows, exported once into bench/out/glm/. */
function loadData(n: number): Data {
  const dir = path.join(repoRoot(), "bench", "out", "glm");
  const base = path.join(dir, `glm_N${n}.train`);
  if (!existsSync(`${base}.X.f64`) || !existsSync(`${base}.y.f64`)) {
    mkdirSync(dir, { recursive: true });
    const script = path.join(anchorsDir(), "python", "bench_glm.py");
    progress(`exporting ${n} rows with ${script}`);
    const r = spawnSync(PYTHON, [script, String(n), "1", "--export", dir, "--export-only"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`skein bench glm: ${script} --export failed (${r.status}): ${r.stderr.slice(-600)}`);
  }
  const read = (file: string, len: number): Float64Array => {
    const buf = readFileSync(file);
    if (buf.byteLength !== len * 8) throw new Error(`skein bench glm: ${file} has ${buf.byteLength} bytes, expected ${len * 8}`);
    const out = new Float64Array(len);
    new Uint8Array(out.buffer).set(buf);
    return out;
  };
  return { X: read(`${base}.X.f64`, n * P), y: read(`${base}.y.f64`, n), n };
}

function partitions(d: Data, k: number): Partition[] {
  const out: Partition[] = [];
  for (let b = 0; b < k; b++) {
    const a = Math.floor((b * d.n) / k);
    const e = Math.floor(((b + 1) * d.n) / k);
    out.push({ X: { rows: e - a, cols: P, data: d.X.slice(a * P, e * P) }, y: d.y.slice(a, e) });
  }
  return out;
}

/** The script's figure: mean over rows of log(1 + e^z) - y z, z = X coef (+ intercept). */
function trainLogLoss(d: Data, coef: ArrayLike<number>, intercept = 0): number {
  let s = 0;
  for (let i = 0; i < d.n; i++) {
    let z = intercept;
    for (let j = 0; j < P; j++) z += d.X[i * P + j] * coef[j];
    s += log1pExp(z) - d.y[i] * z;
  }
  return s / d.n;
}

/** Log-losses as 10-digit strings: the report rounds numbers to 4 digits, which hides the differences. */
function fmt(v: number | null): string | null {
  return v === null ? null : v.toPrecision(10);
}

interface SkeinCase {
  name: string;
  options: SolveOptions;
  transport?: "argument" | "broadcast";
  /** dask-glm's row in the recorded results, or scikit-learn's row measured now. */
  daskRow?: string;
  sklearnRow?: string;
}

function skeinCases(tol: number): SkeinCase[] {
  return [
    { name: "skein lbfgs(unregularized)", options: { solver: "lbfgs", penalty: "none", tol }, daskRow: "dask-glm lbfgs(unregularized)" },
    {
      name: "skein lbfgs(unregularized, theta broadcast)",
      options: { solver: "lbfgs", penalty: "none", tol },
      transport: "broadcast",
      daskRow: "dask-glm lbfgs(unregularized)",
    },
    { name: "skein newton(unregularized)", options: { solver: "newton", penalty: "none", tol }, daskRow: "dask-glm newton(unregularized)" },
    {
      name: "skein gradientDescent(unregularized, maxIter 100)",
      options: { solver: "gradientDescent", penalty: "none", tol, maxIter: 100 },
      daskRow: "dask-glm gradient_descent(unregularized)",
    },
    {
      // dask-glm's objective is sum loss + lamduh ||b||_1: C = 1, lambda = 0.1.
      name: "skein proximalGradient(l1, lambda=0.1)",
      options: { solver: "proximalGradient", penalty: "l1", lambda: 0.1, tol, maxIter: 1000 },
      daskRow: "dask-glm proximal_grad(l1, lamduh=0.1)",
    },
    {
      name: "skein admm(l1, lambda=0.1)",
      options: { solver: "admm", penalty: "l1", lambda: 0.1, tol, maxIter: 250 },
      daskRow: "dask-glm admm(l1, lamduh=0.1)",
    },
    {
      // dask-glm has no asynchronous ADMM: compared with its (synchronous) admm.
      name: "skein admmAsync(l1, lambda=0.1)",
      options: { solver: "admmAsync", penalty: "l1", lambda: 0.1, tol, maxIter: 250 },
      daskRow: "dask-glm admm(l1, lamduh=0.1)",
    },
    {
      name: "skein lbfgs(l2, C=1)",
      options: { solver: "lbfgs", penalty: "l2", C: 1, tol },
      sklearnRow: "sklearn LogisticRegression(l2, lbfgs, C=1, no intercept)",
    },
    {
      name: "skein newton(l2, C=1)",
      options: { solver: "newton", penalty: "l2", C: 1, tol },
      sklearnRow: "sklearn LogisticRegression(l2, lbfgs, C=1, no intercept)",
    },
  ];
}

/** dask-glm's recorded figures for N rows (the files bench_glm.py wrote on a machine with dask-glm). */
function recordedDaskGlm(n: number): { rows: Record<string, Record<string, unknown>>; files: string[]; skipped?: string } {
  const files =
    n === 1_000_000
      ? ["bench_glm_N1000000_gradient_descent_lbfgs_newton_proximal_grad_sklearn.json", "bench_glm_N1000000_admm.json"]
      : [`bench_glm_N${n}.json`];
  const rows: Record<string, Record<string, unknown>> = {};
  const why: string[] = [];
  for (const f of files) {
    const r = readRecorded(f);
    if (isSkipped(r)) {
      why.push(r.skipped);
      continue;
    }
    const solvers = (r.data as { solvers?: Record<string, Record<string, unknown>> }).solvers ?? {};
    for (const [k, v] of Object.entries(solvers)) if (k.startsWith("dask-glm") && !("skipped" in v)) rows[k] = v;
  }
  return why.length ? { rows, files, skipped: why.join("; ") } : { rows, files };
}

interface MlLogReg {
  train(X: unknown, Y: unknown): void;
  classifiers: { weights: { to1DArray(): number[] } }[];
}

/** ml-logistic-regression on the same data: 100 steps of its fixed-step gradient ascent. */
async function runMl(d: Data, repeat: number): Promise<Record<string, unknown>> {
  const pkg = "ml-logistic-regression";
  let mod: { default: new (o: { numSteps: number; learningRate: number }) => MlLogReg };
  let ml: { Matrix: { new (rows: number[][]): unknown; columnVector(v: number[]): unknown } };
  try {
    mod = (await import(pkg)) as typeof mod;
    ml = (await import("ml-matrix")) as unknown as typeof ml;
  } catch (e) {
    return { skipped: `${pkg} not importable (${(e as Error).message}); npm install --save-dev ${pkg}` };
  }
  const rows: number[][] = [];
  for (let i = 0; i < d.n; i++) rows.push(Array.from(d.X.subarray(i * P, i * P + P)));
  const X = new ml.Matrix(rows);
  const Y = ml.Matrix.columnVector(Array.from(d.y));
  // Its gradient is the sum over rows: a step of 1/N stays below 1/L (L ~ N here); its default 5e-4 diverges.
  const steps = 100;
  let model: MlLogReg | null = null;
  const t = await timeit(() => {
    model = new mod.default({ numSteps: steps, learningRate: 1 / d.n });
    model.train(X, Y);
  }, repeat);
  // classifiers[0] separates "not class 0" (target 1) from class 0: the ordinary model for y.
  const coef = (model as unknown as MlLogReg).classifiers[0].weights.to1DArray();
  return { median_s: t.median, min_s: t.min, iterations: steps, train_log_loss: fmt(trainLogLoss(d, coef)), note: "trains one classifier per class (2 here): the time covers both" };
}

export async function run(args: string[]): Promise<void> {
  const a = parseArgs(args, { flags: ["quick", "no-anchor", "anchor-recorded", "no-ml"], values: ["rows", "repeat", "partitions", "tol"] }, "skein bench glm");
  const quick = a.flags.has("quick");
  const n = numberOption(a, "rows", quick ? 100_000 : 1_000_000);
  const repeat = numberOption(a, "repeat", quick ? 1 : 3);
  const nParts = numberOption(a, "partitions", 4);
  const tol = numberOption(a, "tol", 1e-6);

  const t0 = performance.now();
  const data = loadData(n);
  progress(`loaded ${n} x ${P} in ${((performance.now() - t0) / 1e3).toFixed(2)} s`);

  // scikit-learn first, so the cluster's processes do not compete with it.
  let sk: AnchorOutcome = { skipped: "--no-anchor" };
  if (!a.flags.has("no-anchor")) {
    progress("running bench_glm.py sklearn");
    sk = a.flags.has("anchor-recorded")
      ? { skipped: "--anchor-recorded: scikit-learn's recorded rows are read below" }
      : await runAnchor("bench_glm.py", [String(n), String(repeat), "sklearn"], { modules: ["sklearn"], onProgress: (l) => progress("  " + l) });
  }
  const skRows = isSkipped(sk) ? {} : anchorRows(sk.data);
  const recorded = recordedDaskGlm(n);
  if (a.flags.has("anchor-recorded") && Object.keys(skRows).length === 0) {
    for (const f of recorded.files) {
      const r = readRecorded(f);
      if (isSkipped(r)) continue;
      for (const [k, v] of Object.entries((r.data as { solvers?: Record<string, Record<string, unknown>> }).solvers ?? {})) {
        if (k.startsWith("sklearn")) skRows[k] = v;
      }
    }
  }

  const client = await Client.connect({ nWorkers: 2, threadsPerWorker: 1 });
  try {
    const tl = performance.now();
    const futs = await client.scatterMany(partitions(data, nParts));
    const spec: KernelSpec = { family: "logistic", fitIntercept: false };
    const problems = {
      argument: await DistributedProblem.create(futs, spec, { client }),
      broadcast: await DistributedProblem.create(futs, spec, { client, thetaTransport: "broadcast" }),
    };
    progress(`scattered ${nParts} partitions and validated them in ${((performance.now() - tl) / 1e3).toFixed(2)} s`);
    // Warm-up, untimed: JIT of the kernels on the workers and first-use checks of the task functions.
    for (const pr of [problems.argument, problems.broadcast]) await solve(pr, { solver: "newton", penalty: "none", maxIter: 2 });
    for (const c of skeinCases(tol)) {
      const problem = problems[c.transport ?? "argument"];
      let res: SolverResult | null = null;
      const t = await timeit(async () => {
        res = await solve(problem, c.options);
      }, repeat);
      const r = res as unknown as SolverResult;
      const loss = trainLogLoss(data, r.beta);
      const figures = { median_s: t.median, min_s: t.min, samples_s: t.samples, iterations: r.nIter, passes: r.nPasses, converged: r.converged, objective: r.objective, train_log_loss: fmt(loss) };
      progress(`${c.name}: ${t.median.toFixed(3)} s, ${r.nIter} iterations, log-loss ${loss.toFixed(8)}`);
      if (c.daskRow !== undefined) {
        const row = recorded.rows[c.daskRow];
        emit({
          bench: BENCH,
          case: c.name,
          ours: t.median,
          anchor: row ? num(row, "median_s") : null,
          unit: "s",
          better: "lower",
          target: 10,
          anchor_source: row ? "recorded" : "none",
          anchor_name: c.daskRow,
          anchor_iterations: row ? row.iterations : null,
          anchor_train_log_loss: row ? fmt(num(row, "train_log_loss")) : null,
          ...(row ? {} : { anchor_missing: recorded.skipped ?? `no recorded row "${c.daskRow}" for N=${n}` }),
          N: n,
          partitions: nParts,
          tol,
          ...figures,
        });
      }
      if (c.sklearnRow !== undefined || c.name.startsWith("skein lbfgs(unreg") || c.name.startsWith("skein newton(unreg")) {
        const name = c.sklearnRow ?? "sklearn LogisticRegression(l2, lbfgs, C=1, no intercept)";
        const row = skRows[name];
        emit({
          bench: BENCH,
          case: `${c.name} vs scikit-learn lbfgs`,
          ours: t.median,
          anchor: row ? num(row, "median_s") : null,
          unit: "s",
          better: "lower",
          target: 1,
          anchor_source: row ? (isSkipped(sk) ? "recorded" : "measured") : "none",
          anchor_name: name,
          anchor_iterations: row ? row.iterations : null,
          anchor_train_log_loss: row ? fmt(num(row, "train_log_loss")) : null,
          ...(row ? {} : { anchor_missing: isSkipped(sk) ? sk.skipped : `no row "${name}"` }),
          N: n,
          partitions: nParts,
          tol,
          ...figures,
        });
      }
    }
    for (const f of futs) f.release();
  } finally {
    await client.close();
  }

  // The anchors' other rows, for the record (scikit-learn measured now, dask-glm recorded).
  for (const [name, row] of Object.entries(skRows)) {
    emit({ bench: BENCH, case: name, ours: num(row, "median_s") ?? NaN, anchor: null, unit: "s", better: "lower", anchor_source: "none", role: "anchor row (scikit-learn)", source: isSkipped(sk) ? "recorded" : "measured", iterations: row.iterations, train_log_loss: fmt(num(row, "train_log_loss")), N: n });
  }
  for (const [name, row] of Object.entries(recorded.rows)) {
    emit({ bench: BENCH, case: name, ours: num(row, "median_s") ?? NaN, anchor: null, unit: "s", better: "lower", anchor_source: "none", role: "anchor row (dask-glm)", source: "recorded", iterations: row.iterations, train_log_loss: fmt(num(row, "train_log_loss")), N: n });
  }

  if (!a.flags.has("no-ml")) {
    progress("running ml-logistic-regression (100 steps)");
    const ml = await runMl(data, repeat);
    const mlS = typeof ml.median_s === "number" ? ml.median_s : NaN;
    emit({ bench: BENCH, case: "ml-logistic-regression (npm, 100 gradient steps, 1 thread)", ours: mlS, anchor: null, unit: "s", better: "lower", anchor_source: "none", role: "JavaScript baseline", N: n, ...ml });
  }
}

if (isMain(import.meta)) {
  await run(process.argv.slice(2));
}
