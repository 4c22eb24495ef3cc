/**
 * Figures and output lines for the benchmarks: medians, "how many times better" ratios, one
 * JSON line per case on stdout, and a wall-clock timer.
 *
 * stdout carries only the JSON lines (one per case), so `npm run bench | grep '^{'` or a
 * line-by-line JSON reader gets every figure; progress goes to stderr (see `progress`).
 */
import { performance } from "node:perf_hooks";

/** Which direction is better for a figure: throughputs are "higher", durations "lower". */
export type Better = "higher" | "lower";

/** Median of the samples (mean of the two middle values for an even count). */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error("skein bench: median of an empty list");
  const s = samples.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * How many times better `ours` is than `anchor`: anchor/ours for durations (better "lower"),
 * ours/anchor for throughputs (better "higher"). null when either figure is missing, not finite
 * or not positive (a ratio against zero says nothing).
 */
export function ratioOf(
  ours: number | null | undefined,
  anchor: number | null | undefined,
  better: Better,
): number | null {
  if (ours == null || anchor == null) return null;
  if (!Number.isFinite(ours) || !Number.isFinite(anchor) || ours <= 0 || anchor <= 0) return null;
  return better === "higher" ? ours / anchor : anchor / ours;
}

/** Round to `digits` significant digits (keeps the JSON lines short and stable). */
export function sig(x: number, digits = 4): number {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(digits));
}

/** Where the anchor figure came from: run in this process's run, or read from shared/anchors/results. */
export type AnchorSource = "measured" | "recorded" | "none";

/** One benchmark case as a benchmark reports it; `emit` adds the ratio. */
export interface CaseFigures {
  /** Benchmark name, e.g. "scheduler". */
  readonly bench: string;
  /** Case name; where a Python anchor exists it is the anchor's row name, e.g. "map_gather_10000". */
  readonly case: string;
  /** Our headline figure in `unit`. */
  readonly ours: number;
  /** The anchor's headline figure in the same unit, or null when it is missing. */
  readonly anchor: number | null;
  readonly unit: string;
  readonly better: Better;
  /** Required ratio from the issue, or null when none is set. */
  readonly target?: number | null;
  readonly anchor_source?: AnchorSource;
  /** Anything else worth keeping (sizes, raw samples, why the anchor is missing). */
  readonly [extra: string]: unknown;
}

/** The JSON object `emit` prints: the figures plus ratio and whether the target is met. */
export interface CaseLine extends CaseFigures {
  readonly ratio: number | null;
  readonly target: number | null;
  readonly meets_target: boolean | null;
  readonly anchor_source: AnchorSource;
}

/**
 * Non-integers rounded to 4 significant digits, recursively (arrays and plain objects). Integers
 * (task counts, byte counts) stay exact: 99,999 tasks must not print as 100,000.
 */
function roundDeep(v: unknown): unknown {
  if (typeof v === "number") return Number.isInteger(v) ? v : sig(v);
  if (Array.isArray(v)) return v.map(roundDeep);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = roundDeep(x);
    return out;
  }
  return v;
}

/** Builds the line: fixed leading fields in a fixed order, then the extras. */
export function caseLine(f: CaseFigures): CaseLine {
  const ratio = ratioOf(f.ours, f.anchor, f.better);
  const { bench, case: name, ours, anchor, unit, better, anchor_source, target: t, ...extra } = f;
  const target = t ?? null;
  return {
    bench,
    case: name,
    unit,
    better,
    ours,
    anchor,
    ratio,
    target,
    meets_target: ratio === null || target === null ? null : ratio >= target,
    anchor_source: anchor_source ?? (anchor === null ? "none" : "measured"),
    ...extra,
  };
}

/** The line as printed: compact JSON, non-integers to 4 significant digits (non-finite become null). */
export function formatLine(f: CaseFigures): string {
  return JSON.stringify(roundDeep(caseLine(f)));
}

/** Prints one JSON line for the case to stdout (or `write`) and returns it. */
export function emit(f: CaseFigures, write: (s: string) => void = (s) => process.stdout.write(s)): string {
  const line = formatLine(f);
  write(line + "\n");
  return line;
}

/** A progress note on stderr, so stdout stays one JSON line per case. */
export function progress(...parts: readonly unknown[]): void {
  process.stderr.write(`[bench] ${parts.map(String).join(" ")}\n`);
}

export interface Timing {
  /** Every sample, in seconds, in the order they ran. */
  readonly samples: number[];
  readonly median: number;
  readonly min: number;
}

export interface TimeitOptions {
  /** Runs before each timed sample, untimed (e.g. a forced GC). */
  readonly before?: () => void | Promise<void>;
  /** Runs after each timed sample, untimed (e.g. a pause so the scheduler forgets released keys). */
  readonly after?: () => void | Promise<void>;
}

/** Runs `fn` `repeat` times, timing each with performance.now(); seconds. */
export async function timeit(
  fn: () => unknown,
  repeat: number,
  opts: TimeitOptions = {},
): Promise<Timing> {
  if (!Number.isInteger(repeat) || repeat < 1) {
    throw new Error(`skein bench: repeat must be a positive integer, got ${repeat}`);
  }
  const samples: number[] = [];
  for (let i = 0; i < repeat; i++) {
    if (opts.before) await opts.before();
    const t0 = performance.now();
    await fn();
    samples.push((performance.now() - t0) / 1e3);
    if (opts.after) await opts.after();
  }
  return { samples, median: median(samples), min: Math.min(...samples) };
}

/** Forces a full GC when the process runs with --expose-gc; returns whether it could. */
export function forceGc(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== "function") return false;
  gc();
  return true;
}
