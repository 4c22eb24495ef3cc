/**
 * XGBoost on ../shared/anchors/python/bench_xgb.py's problem: make_classification(1,000,000 x 20,
 * random_state=0), 80/20 split, {binary:logistic, hist, max_depth 6, eta 0.1}, 100 rounds.
 *
 *   npm run bench -- xgb [--quick] [--samples N] [--rounds R] [--repeat K] [--no-anchor]
 *
 * The data are bench_xgb.py's own (`--export-only --export DIR`, raw f64, cached in
 * bench/out/xgb/). skein, in this run:
 *   - distributed: LocalCluster(2 workers x 1 thread); the workers read the training rows from
 *     the export in 8 row partitions (4 per worker, as the anchor's 8 persisted chunks) — nothing
 *     passes through the client — then `train(client, params, partitions)` (skein's rabit
 *     tracker, one participant per worker); params nthread = 1 and 2, as the anchor;
 *   - single process: DMatrix (nthread 2) + train, as the anchor's `xgb.train`.
 * The anchor (`bench_xgb.py R --samples N --rounds R --json`) runs in the same run: its single
 * process figures and `xgboost.dask.train` on Dask's LocalCluster(2 x 1 thread). Distributed
 * times compare whole calls: skein's `train(client, ...)` (locating partitions, tracker, DMatrix
 * on the workers, training, model back) against the anchor's DaskDMatrix + `xgboost.dask.train`.
 * AUC on the 20 % holdout for every row. --quick: N = 100,000, R = 1.
 */
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync } from "node:fs";
import path from "node:path";
import { Client } from "../src/client/client.js";
import { isMain } from "../src/main-guard.js";
import type { Future } from "../src/client/future.js";
import type { XYPartition } from "../src/data/types.js";
import { rocAucScore } from "../estimators/metrics.js";
import { DMatrix, train } from "../estimators/xgboost/index.js";
import type { BoosterParams } from "../estimators/xgboost/index.js";
import { anchorRows, anchorsDir, isSkipped, num, PYTHON, repoRoot, runAnchor } from "./lib/anchor.js";
import type { AnchorOutcome } from "./lib/anchor.js";
import { numberOption, parseArgs } from "./lib/args.js";
import { emit, median, progress } from "./lib/report.js";

const BENCH = "xgb";
const P = 20;
const PARTS = 8;
const PARAMS = { objective: "binary:logistic", tree_method: "hist", max_depth: 6, eta: 0.1 } as const;

interface Export {
  dir: string;
  base: string;
  train: number;
  test: number;
}

/** bench_xgb.py's split for N samples, exported once into bench/out/xgb/. */
function exportData(n: number): Export {
  const dir = path.join(repoRoot(), "bench", "out", "xgb");
  const header = path.join(dir, `xgb_n${n}.json`);
  if (!existsSync(header)) {
    mkdirSync(dir, { recursive: true });
    const script = path.join(anchorsDir(), "python", "bench_xgb.py");
    progress(`exporting ${n} samples with ${script}`);
    const r = spawnSync(PYTHON, [script, "1", "--samples", String(n), "--export", dir, "--export-only"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`skein bench xgb: ${script} --export failed (${r.status}): ${r.stderr.slice(-600)}`);
  }
  const h = JSON.parse(readFileSync(header, "utf8")) as { raw: { files: Record<string, { shape: number[] }> } };
  return { dir, base: `xgb_n${n}`, train: h.raw.files["train.y"].shape[0], test: h.raw.files["test.y"].shape[0] };
}

/** `count` float64 values of `file` from value `start` on (one positioned read). */
function readF64(file: string, start: number, count: number): Float64Array {
  const out = new Float64Array(count);
  const fd = openSync(file, "r");
  try {
    const bytes = new Uint8Array(out.buffer);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(fd, bytes, done, bytes.length - done, start * 8 + done);
      if (n === 0) throw new Error(`skein bench xgb: ${file} ends before value ${start + count}`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** Task: rows [a, b) of the exported training table, read by the worker that runs it. */
export function loadRows(dir: string, base: string, a: number, b: number): XYPartition {
  const X = readF64(path.join(dir, `${base}.train.X.f64`), a * P, (b - a) * P);
  const y = readF64(path.join(dir, `${base}.train.y.f64`), a, b - a);
  return { X: { rows: b - a, cols: P, data: X }, y };
}

interface Case {
  seconds: number[];
  auc: number;
  extra?: Record<string, unknown>;
}

export async function run(args: string[]): Promise<void> {
  const a = parseArgs(args, { flags: ["quick", "no-anchor"], values: ["samples", "rounds", "repeat"] }, "skein bench xgb");
  const quick = a.flags.has("quick");
  const n = numberOption(a, "samples", quick ? 100_000 : 1_000_000);
  const rounds = numberOption(a, "rounds", 100);
  const repeat = numberOption(a, "repeat", quick ? 1 : 3);
  const ex = exportData(n);
  const testX = readF64(path.join(ex.dir, `${ex.base}.test.X.f64`), 0, ex.test * P);
  const testY = readF64(path.join(ex.dir, `${ex.base}.test.y.f64`), 0, ex.test);
  const dtest = DMatrix.create({ rows: ex.test, cols: P, data: testX }, { nthread: 2 });
  const auc = (b: { predict(d: DMatrix): { values: Float32Array } }): number => rocAucScore(testY, b.predict(dtest).values);

  let anchor: AnchorOutcome = { skipped: "--no-anchor" };
  if (!a.flags.has("no-anchor")) {
    progress(`running bench_xgb.py ${repeat} --samples ${n} --rounds ${rounds}`);
    anchor = await runAnchor("bench_xgb.py", [String(repeat), "--samples", String(n), "--rounds", String(rounds)], {
      modules: ["xgboost", "dask", "distributed", "sklearn"],
      onProgress: (l) => progress("  " + l),
    });
    if (isSkipped(anchor)) progress(`anchor skipped: ${anchor.skipped}`);
  }
  const rows = isSkipped(anchor) ? {} : anchorRows(anchor.data);

  // ---- single process: DMatrix (nthread 2) + train, as xgb.DMatrix + xgb.train
  const single: Case = { seconds: [], auc: 0 };
  {
    const X = readF64(path.join(ex.dir, `${ex.base}.train.X.f64`), 0, ex.train * P);
    const y = readF64(path.join(ex.dir, `${ex.base}.train.y.f64`), 0, ex.train);
    const dm: number[] = [];
    const tr: number[] = [];
    for (let r = 0; r < repeat; r++) {
      const t0 = performance.now();
      const d = DMatrix.create({ rows: ex.train, cols: P, data: X }, { label: y, nthread: 2 });
      const t1 = performance.now();
      const res = train({ ...PARAMS, nthread: 2 }, d, { numBoostRound: rounds });
      const t2 = performance.now();
      dm.push((t1 - t0) / 1e3);
      tr.push((t2 - t1) / 1e3);
      single.seconds.push((t2 - t0) / 1e3);
      single.auc = auc(res.booster);
      res.booster.free();
      d.free();
    }
    single.extra = { dmatrix_min_s: Math.min(...dm), train_median_s: median(tr) };
    progress(`single process: ${median(single.seconds).toFixed(3)} s, AUC ${single.auc.toFixed(6)}`);
  }

  // ---- distributed on LocalCluster(2 x 1 thread)
  const dist: Record<number, Case> = {};
  const client = await Client.connect({ nWorkers: 2, threadsPerWorker: 1 });
  let parts: Future<XYPartition>[] = [];
  try {
    const workers = (await client.workers()).sort((x, y) => (x.name < y.name ? -1 : 1));
    const tl = performance.now();
    parts = Array.from({ length: PARTS }, (_, k) => {
      const lo = Math.floor((k * ex.train) / PARTS);
      const hi = Math.floor(((k + 1) * ex.train) / PARTS);
      // Chunks k < 4 on worker 0, the rest on worker 1 (the anchor persists its 8 chunks over 2 workers).
      return client.submitWith({ workers: [workers[Math.floor((k * workers.length) / PARTS)].address], pure: false }, loadRows, ex.dir, ex.base, lo, hi);
    });
    await client.wait(parts);
    for (const f of parts) await f.result().then(() => undefined);
    progress(`workers loaded ${ex.train} x ${P} in ${PARTS} partitions in ${((performance.now() - tl) / 1e3).toFixed(2)} s`);
    // Warm-up (untimed): loads libxgboost in each worker's task thread.
    (await train(client, { ...PARAMS, nthread: 1 }, parts, { numBoostRound: 1 })).booster.free();
    for (const nthread of [1, 2]) {
      const c: Case = { seconds: [], auc: 0 };
      let report: unknown = null;
      for (let r = 0; r < repeat; r++) {
        const t0 = performance.now();
        const res = await train(client, { ...PARAMS, nthread } as BoosterParams, parts, { numBoostRound: rounds });
        c.seconds.push((performance.now() - t0) / 1e3);
        c.auc = auc(res.booster);
        report = res.participants.map((p) => ({ worker: p.name, rows: p.rows, dmatrix_s: p.dmatrixSeconds, train_s: p.trainSeconds }));
        res.booster.free();
      }
      c.extra = { participants: report };
      dist[nthread] = c;
      progress(`distributed nthread=${nthread}: ${median(c.seconds).toFixed(3)} s, AUC ${c.auc.toFixed(6)}`);
    }
  } finally {
    for (const f of parts) f.release();
    await client.close();
    dtest.free();
  }

  const common = { samples: n, train_rows: ex.train, rounds, repeat, params: PARAMS };
  const anchorTotal = (row: Record<string, unknown> | undefined): number | null => {
    if (!row) return null;
    const dm = num(row, "dmatrix_min_s");
    const tr = num(row, "train_median_s");
    return dm === null || tr === null ? null : dm + tr;
  };
  const missing = (name: string) => (isSkipped(anchor) ? { anchor_missing: anchor.skipped } : { anchor_missing: `no row "${name}"` });
  for (const nthread of [1, 2]) {
    const name = `dask_2workers_x1thread_params_nthread_${nthread}`;
    const row = rows[name];
    const c = dist[nthread];
    emit({
      bench: BENCH,
      case: `distributed LocalCluster(2x1) params nthread=${nthread} vs xgboost.dask.train`,
      ours: median(c.seconds),
      anchor: anchorTotal(row),
      unit: "s",
      better: "lower",
      target: 1,
      anchor_name: `${name} (DaskDMatrix min + train median)`,
      ours_min_s: Math.min(...c.seconds),
      ours_auc: c.auc,
      anchor_auc: row ? num(row, "auc_holdout") : null,
      auc_diff: row && num(row, "auc_holdout") !== null ? c.auc - num(row, "auc_holdout")! : null,
      anchor_train_median_s: row ? num(row, "train_median_s") : null,
      ...(row ? {} : missing(name)),
      ...common,
      ...c.extra,
    });
  }
  const srow = rows.single_process;
  emit({
    bench: BENCH,
    case: "single process DMatrix + train (nthread 2) vs xgboost.train",
    ours: median(single.seconds),
    anchor: anchorTotal(srow),
    unit: "s",
    better: "lower",
    target: 1,
    anchor_name: "single_process (DMatrix min + train median)",
    ours_auc: single.auc,
    anchor_auc: srow ? num(srow, "auc_holdout") : null,
    ...(srow ? {} : missing("single_process")),
    ...common,
    ...single.extra,
  });
}

if (isMain(import.meta)) {
  await run(process.argv.slice(2));
}
