/**
 * Performance reports (dask's `performance_report`): run a function, then write ONE
 * self-contained HTML file with the task stream, per-function time and the transfer summary
 * of what ran meanwhile. uPlot and the data are inlined, so the file opens offline and can be
 * mailed or attached to an issue.
 */
import { writeFile } from "node:fs/promises";
import { epochMs } from "../epoch-clock.js";
import { TASK_STREAM_ACTIONS, type DataTransfers, type TaskStreamRecords } from "../protocol.js";
import { scriptSafe, uplotAssets } from "../dashboard/assets.js";
import { toDelta } from "../dashboard/model.js";
import { COMMON_CSS, TASK_STREAM_JS } from "../dashboard/page.js";

export interface PerformanceReportOptions {
  /** Heading of the page. Default "skein performance report". */
  title?: string;
}

export interface FunctionSummary {
  name: string;
  /** Compute bars (one per task run; a retried task counts each attempt). */
  tasks: number;
  erred: number;
  /** Summed compute time, and its mean and maximum per task. */
  computeMs: number;
  meanMs: number;
  maxMs: number;
  /** Bytes of the results. */
  nbytes: number;
  /** Its results copied to other workers (dependencies fetched, replicas), and their bytes. */
  copies: number;
  copiedBytes: number;
  /** Transfers the workers timed (reported with a task's startstops). */
  transfers: number;
  transferMs: number;
  /** Time reading and writing spilled data. */
  diskMs: number;
}

export interface WorkerSummary {
  name: string;
  address: string;
  nthreads: number;
  tasks: number;
  computeMs: number;
  /** Results copied to this worker, and their bytes. */
  copies: number;
  copiedBytes: number;
  transfers: number;
  transferMs: number;
}

/** What a report shows: the task stream and the copies of one window (epoch ms). */
export interface ReportData {
  records: TaskStreamRecords;
  transfers: DataTransfers;
  start: number;
  stop: number;
  /** Records of the window the scheduler no longer held. */
  dropped: number;
}

export interface ReportSummary {
  /** The window reported on, epoch ms. */
  start: number;
  stop: number;
  tasks: number;
  erred: number;
  computeMs: number;
  copies: number;
  copiedBytes: number;
  transfers: number;
  transferMs: number;
  diskMs: number;
  functions: FunctionSummary[];
  workers: WorkerSummary[];
}

/** Per-function and per-worker totals of a report's window; functions by compute time, largest first. */
export function summarizeTaskStream(data: ReportData): ReportSummary {
  const rec = data.records;
  const fns: FunctionSummary[] = rec.fnNames.map((name) => ({
    name, tasks: 0, erred: 0, computeMs: 0, meanMs: 0, maxMs: 0, nbytes: 0, copies: 0, copiedBytes: 0, transfers: 0, transferMs: 0, diskMs: 0,
  }));
  const workers: WorkerSummary[] = rec.workers.map((w) => ({
    name: w.name, address: w.address, nthreads: w.nthreads, tasks: 0, computeMs: 0, copies: 0, copiedBytes: 0, transfers: 0, transferMs: 0,
  }));
  const total = { tasks: 0, erred: 0, computeMs: 0, copies: 0, copiedBytes: 0, transfers: 0, transferMs: 0, diskMs: 0 };
  const tr = data.transfers;
  for (let i = 0; i < tr.key.length; i++) {
    const f = fns[tr.fn[i]];
    const w = workers[tr.worker[i]];
    f.copies++;
    f.copiedBytes += tr.nbytes[i];
    w.copies++;
    w.copiedBytes += tr.nbytes[i];
    total.copies++;
    total.copiedBytes += tr.nbytes[i];
  }
  for (let i = 0; i < rec.key.length; i++) {
    const f = fns[rec.fn[i]];
    const w = workers[rec.worker[i]];
    const d = Math.max(0, rec.stop[i] - rec.start[i]);
    const action = TASK_STREAM_ACTIONS[rec.action[i]] ?? "compute";
    if (action === "compute") {
      f.tasks++;
      f.computeMs += d;
      if (d > f.maxMs) f.maxMs = d;
      f.nbytes += rec.nbytes[i];
      w.tasks++;
      w.computeMs += d;
      total.tasks++;
      total.computeMs += d;
      if (rec.erred[i]) {
        f.erred++;
        total.erred++;
      }
    } else if (action === "transfer") {
      f.transfers++;
      f.transferMs += d;
      w.transfers++;
      w.transferMs += d;
      total.transfers++;
      total.transferMs += d;
    } else {
      f.diskMs += d;
      total.diskMs += d;
    }
  }
  for (const f of fns) f.meanMs = f.tasks > 0 ? f.computeMs / f.tasks : 0;
  return {
    start: data.start,
    stop: data.stop,
    ...total,
    functions: fns.filter((f) => f.tasks + f.transfers + f.copies > 0 || f.diskMs > 0).sort((a, b) => b.computeMs - a.computeMs || a.name.localeCompare(b.name)),
    workers: workers.filter((w) => w.tasks + w.transfers + w.copies > 0),
  };
}

/** Tasks computing at each of `points` instants of [start, stop] (the report's concurrency chart). */
export function concurrency(rec: TaskStreamRecords, start: number, stop: number, points = 300): { t: number[]; running: number[] } {
  const t: number[] = [];
  const diff = new Float64Array(points + 1);
  const span = Math.max(stop - start, 1);
  const step = span / (points - 1);
  for (let p = 0; p < points; p++) t.push((start + p * step) / 1000);
  for (let i = 0; i < rec.key.length; i++) {
    if (rec.action[i] !== 0) continue;
    // Sample instants inside [start_i, stop_i]: a difference array keeps this O(records + points).
    const a = Math.max(0, Math.ceil((rec.start[i] - start) / step));
    const b = Math.min(points - 1, Math.floor((rec.stop[i] - start) / step));
    if (b < a) continue;
    diff[a]++;
    diff[b + 1]--;
  }
  const running: number[] = [];
  let c = 0;
  for (let p = 0; p < points; p++) {
    c += diff[p];
    running.push(c);
  }
  return { t, running };
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function ms(x: number): string {
  if (x < 1) return `${(x * 1000).toFixed(0)} µs`;
  if (x < 1000) return `${x.toFixed(x < 10 ? 2 : 1)} ms`;
  return `${(x / 1000).toFixed(2)} s`;
}

function bytes(b: number): string {
  if (!(b > 0)) return "0 B";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) {
    b /= 1024;
    i++;
  }
  return `${b.toFixed(b < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

const REPORT_CSS = `
.cards { display: flex; gap: 10px; flex-wrap: wrap; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 130px; }
.card b { display: block; font-size: 18px; }
.card span { color: var(--muted); }
`;

const REPORT_JS = `
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var stream = new window.SkeinTaskStream(document.getElementById("stream"), {
    legend: document.getElementById("stream-legend"),
    tooltip: document.getElementById("tip"),
    cap: Math.max(1, data.stream.start.length),
    withKeys: true,
    maxHeight: 700,
    range: [data.start, data.stop]
  });
  stream.append(data.stream);
  var el = document.getElementById("running");
  var plot = new uPlot({
    width: Math.max(300, el.clientWidth || 800),
    height: 180,
    scales: { x: { time: true } },
    series: [{}, { label: "tasks running", stroke: "#2ca02c", fill: "rgba(44,160,44,0.15)", width: 1.5 }],
    axes: [{}, { size: 50 }]
  }, [data.running.t, data.running.running], el);
  window.addEventListener("resize", function () { plot.setSize({ width: Math.max(300, el.clientWidth), height: 180 }); });
  window.skeinReport = { stream: stream, tasks: data.summary.tasks };
})();
`;

/** The report as one HTML document (no external resources). */
export function renderPerformanceReport(window: ReportData, opts: PerformanceReportOptions = {}): string {
  const rec = window.records;
  const summary = summarizeTaskStream(window);
  const delta = { ...toDelta(rec, 0), key: rec.key };
  const data = { stream: delta, running: concurrency(rec, window.start, window.stop), summary: { tasks: summary.tasks }, start: window.start, stop: window.stop };
  const title = opts.title ?? "skein performance report";
  const wall = Math.max(0, window.stop - window.start);
  const threads = summary.workers.reduce((s, w) => s + w.nthreads, 0);
  const card = (value: string, label: string): string => `<div class="card"><b>${esc(value)}</b><span>${esc(label)}</span></div>`;
  const fnRows = summary.functions
    .map(
      (f) =>
        `<tr data-fn="${esc(f.name)}" data-tasks="${f.tasks}"><td><span class="sw" style="background:var(--c)"></span>${esc(f.name)}</td>` +
        `<td class="num">${f.tasks}</td><td class="num">${f.erred}</td><td class="num">${ms(f.computeMs)}</td><td class="num">${summary.computeMs > 0 ? ((100 * f.computeMs) / summary.computeMs).toFixed(1) : "0.0"}%</td>` +
        `<td class="num">${ms(f.meanMs)}</td><td class="num">${ms(f.maxMs)}</td><td class="num">${bytes(f.nbytes)}</td><td class="num">${f.copies}</td><td class="num">${bytes(f.copiedBytes)}</td>` +
        `<td class="num">${f.transfers > 0 ? `${f.transfers} · ${ms(f.transferMs)}` : "0"}</td><td class="num">${ms(f.diskMs)}</td></tr>`,
    )
    .join("");
  const workerRows = summary.workers
    .map(
      (w) =>
        `<tr><td title="${esc(w.address)}">${esc(w.name)}</td><td class="num">${w.nthreads}</td><td class="num">${w.tasks}</td><td class="num">${ms(w.computeMs)}</td>` +
        `<td class="num">${wall > 0 ? ((100 * w.computeMs) / (wall * w.nthreads)).toFixed(1) : "0.0"}%</td><td class="num">${w.copies}</td><td class="num">${bytes(w.copiedBytes)}</td>` +
        `<td class="num">${w.transfers > 0 ? `${w.transfers} · ${ms(w.transferMs)}` : "0"}</td></tr>`,
    )
    .join("");
  const { js: uplotJs, css: uplotCss } = uplotAssets();
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  const note =
    window.dropped > 0
      ? `<p class="muted">The scheduler keeps the last ${rec.key.length + window.dropped} task records or fewer; ${window.dropped} older records of this window were no longer held.</p>`
      : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${uplotCss}</style>
<style>${COMMON_CSS}${REPORT_CSS}</style>
</head>
<body>
<header><h1>${esc(title)}</h1><span class="meta">${esc(new Date(window.start).toISOString())} · ${esc(ms(wall))}</span></header>
<main>
<section class="wide"><div class="cards">${card(String(summary.tasks), "tasks run")}${card(ms(wall), "wall time")}${card(ms(summary.computeMs), "compute time")}${card(
    wall > 0 && threads > 0 ? `${((100 * summary.computeMs) / (wall * threads)).toFixed(1)}%` : "n/a",
    `of ${threads} threads busy`,
  )}${card(String(summary.erred), "failed")}${card(`${summary.copies} · ${bytes(summary.copiedBytes)}`, "results copied between workers")}</div>${note}</section>
<section class="wide"><h2>Task stream <small>one row per worker thread; drag to zoom, double-click to reset</small></h2><div id="stream"></div><div class="legend" id="stream-legend"></div></section>
<section class="wide"><h2>Tasks running</h2><div id="running"></div></section>
<section class="wide"><h2>Time per function</h2><table id="functions"><tr><th>function</th><th class="num">tasks</th><th class="num">failed</th><th class="num">compute</th><th class="num">share</th><th class="num">mean</th><th class="num">max</th><th class="num">result bytes</th><th class="num">copied to other workers</th><th class="num">bytes copied</th><th class="num">timed transfers</th><th class="num">disk time</th></tr>${fnRows}</table></section>
<section class="wide"><h2>Workers <small>busy = compute time / (wall time × threads)</small></h2><table id="workers"><tr><th>worker</th><th class="num">threads</th><th class="num">tasks</th><th class="num">compute</th><th class="num">busy</th><th class="num">copies received</th><th class="num">bytes received</th><th class="num">timed transfers</th></tr>${workerRows}</table></section>
</main>
<div class="tip" id="tip"></div>
<script type="application/json" id="report-data">${json}</script>
<script>${scriptSafe(uplotJs)}</script>
<script>${scriptSafe(TASK_STREAM_JS)}</script>
<script>
${REPORT_JS}
(function () {
  var rows = document.querySelectorAll("#functions tr[data-fn]");
  for (var i = 0; i < rows.length; i++) rows[i].style.setProperty("--c", window.skeinFnColor(rows[i].getAttribute("data-fn")));
})();
</script>
</body>
</html>
`;
}

/**
 * Run `fn`, then fetch the task stream of its time window with `fetch` and write the report
 * to `path`, also when `fn` throws (the report of a failed run is the useful one); returns
 * what `fn` returned.
 */
/** The window is on the workers' clock (epoch-clock.ts); the query reaches this much further for other processes' clocks. */
const CLOCK_SLACK_MS = 1;

export async function runPerformanceReport<T>(
  path: string,
  fn: () => T | Promise<T>,
  fetch: (since: number, until: number) => Promise<{ records: TaskStreamRecords; transfers: DataTransfers; dropped: number }>,
  opts: PerformanceReportOptions = {},
): Promise<T> {
  if (typeof path !== "string" || path === "") throw new TypeError(`skein performanceReport: path must be a non-empty string, got ${JSON.stringify(path)}`);
  if (typeof fn !== "function") throw new TypeError(`skein performanceReport: expected a function to run, got ${typeof fn}`);
  const start = epochMs();
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    // fn's error is the one to surface; a report that cannot be written then is not.
    await write(path, start, fetch, opts).catch(() => undefined);
    throw err;
  }
  await write(path, start, fetch, opts);
  return result;
}

async function write(
  path: string,
  start: number,
  fetch: (since: number, until: number) => Promise<{ records: TaskStreamRecords; transfers: DataTransfers; dropped: number }>,
  opts: PerformanceReportOptions,
): Promise<void> {
  const stop = epochMs();
  const { records, transfers, dropped } = await fetch(start, stop + CLOCK_SLACK_MS);
  await writeFile(path, renderPerformanceReport({ records, transfers, start, stop, dropped }, opts));
}
