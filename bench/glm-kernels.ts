/**
 * Single-thread throughput of skein/solvers' per-partition kernels on the dask-glm blog problem
 * (1,000,000 x 15, seed 20009, no intercept column; the same X as bench_glm.py), and whole in-process fits
 * (LocalProblem, one thread) with lbfgs and newton for scale against scikit-learn's lbfgs
 * (~0.7 s for 13 iterations on this problem; see ../shared/anchors/results).
 *
 *   npx tsx bench/glm-kernels.ts [--rows N] [--repeat R]
 *
 * Prints one JSON line per case on stdout (rows/s is the best of R repetitions).
 */
import { isMain } from "../src/main-guard.js";
import { LocalProblem, lbfgs, newton, splitRows } from "../solvers/index.js";
import {
  lossGradHessInto,
  lossGradInto,
  partitionLoss,
  thetaLength,
} from "../solvers/kernels.js";
import type { KernelSpec, Partition } from "../solvers/types.js";
import { NumpyRandomState } from "../test/fixtures/glm/mt19937.js";

/**
 * The blog problem exactly as numpy draws it (np.random.seed(20009); beta, X, then the labels'
 * uniforms), through the MT19937 port the oracle tests use.
 */
function blogProblem(n: number, p: number, seed: number): { part: Partition; beta: Float64Array } {
  const rs = new NumpyRandomState(seed);
  const beta = rs.fill(new Float64Array(p)).map((b) => (b - 0.5) * 3);
  const X = rs.fill(new Float64Array(n * p));
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let e = 0;
    for (let j = 0; j < p; j++) e += X[i * p + j] * beta[j];
    y[i] = rs.random() < 1 / (1 + Math.exp(-e)) ? 1 : 0;
  }
  return { part: { X: { rows: n, cols: p, data: X }, y }, beta };
}

function best(repeat: number, fn: () => void): number {
  let b = Infinity;
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    fn();
    b = Math.min(b, performance.now() - t);
  }
  return b / 1000;
}

function emit(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(o) + "\n");
}

export async function run(args: string[]): Promise<void> {
  const opt = (name: string, dflt: number): number => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const n = opt("--rows", 1_000_000);
  const repeat = opt("--repeat", 5);
  const p = 15;
  process.stderr.write(`generating ${n} x ${p}...\n`);
  const { part, beta } = blogProblem(n, p, 20009);
  const theta = Float64Array.from(beta, (b) => b * 0.9);

  const kernels: { name: string; spec: KernelSpec; ys?: Float64Array }[] = [
    { name: "logistic", spec: { family: "logistic", fitIntercept: false } },
    { name: "logistic+intercept", spec: { family: "logistic", fitIntercept: true } },
    { name: "normal", spec: { family: "normal", fitIntercept: false } },
    { name: "poisson", spec: { family: "poisson", fitIntercept: false } },
    { name: "multinomial(K=3)", spec: { family: "multinomial", fitIntercept: false, nClasses: 3 } },
  ];
  for (const k of kernels) {
    const d = thetaLength(p, k.spec);
    const th = new Float64Array(d);
    for (let j = 0; j < d; j++) th[j] = theta[j % p] / (k.spec.family === "multinomial" ? 3 : 1);
    const pt: Partition = k.spec.family === "multinomial" ? { ...part, y: part.y.map((v, i) => (v + (i % 2)) % 3) } : part;
    const grad = new Float64Array(d);
    const hess = new Float64Array(d * d);
    const tLoss = best(repeat, () => void partitionLoss(pt, k.spec, th));
    const tGrad = best(repeat, () => void lossGradInto(pt, k.spec, th, grad));
    const tHess = best(Math.max(1, Math.ceil(repeat / 2)), () => void lossGradHessInto(pt, k.spec, th, grad, hess));
    emit({
      bench: "glm-kernels",
      case: `kernel ${k.name}`,
      rows: n,
      cols: p,
      loss_rows_per_s: Math.round(n / tLoss),
      loss_grad_rows_per_s: Math.round(n / tGrad),
      loss_grad_hess_rows_per_s: Math.round(n / tHess),
      loss_grad_s: +tGrad.toFixed(4),
    });
  }

  for (const [name, fn, penalty] of [
    ["lbfgs", lbfgs, "l2"],
    ["newton", newton, "l2"],
    ["lbfgs (OWL-QN)", lbfgs, "l1"],
  ] as const) {
    const prob = new LocalProblem(splitRows(part.X, part.y, undefined, 1), { family: "logistic", fitIntercept: false });
    await fn(prob, { penalty, C: 1, tol: 1e-4, maxIter: 2 }); // warm the JIT
    const t = performance.now();
    const r = await fn(prob, { penalty, C: 1, tol: 1e-4 });
    const s = (performance.now() - t) / 1000;
    const pen = penalty === "l2" ? 0.5 * r.beta.reduce((a, b) => a + b * b, 0) : r.beta.reduce((a, b) => a + Math.abs(b), 0);
    emit({
      bench: "glm-kernels",
      case: `fit ${name} (${penalty}, C=1, no intercept, tol 1e-4, 1 thread)`,
      rows: n,
      seconds: +s.toFixed(3),
      iterations: r.nIter,
      passes: r.nPasses,
      train_log_loss: (r.objective - pen) / n,
      converged: r.converged,
    });
  }
}

if (isMain(import.meta)) {
  run(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
