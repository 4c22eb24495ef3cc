/**
 * The worker's memory policy, as a pure function (dask.distributed's defaults and rules).
 *
 * Four fractions of the worker's memory limit:
 *   target    0.60  managed memory (sum of result sizes held in memory) above this: spill the
 *                   least recently used results to disk until it is back below
 *   spill     0.70  process memory (RSS) above this: spill until RSS is back below `target`
 *   pause     0.80  RSS above this: stop starting tasks (and fetching data) until it drops
 *   terminate 0.95  RSS above this: the nanny kills the worker and starts a fresh one
 * Any of them may be `false` to disable that rule; a memory limit of 0 disables them all.
 *
 * No clocks, no process reads: the edge samples and acts (server.ts, nanny.ts).
 */

export interface MemoryFractions {
  readonly target: number | false;
  readonly spill: number | false;
  readonly pause: number | false;
  readonly terminate: number | false;
}

export const DEFAULT_MEMORY_FRACTIONS: MemoryFractions = Object.freeze({
  target: 0.6,
  spill: 0.7,
  pause: 0.8,
  terminate: 0.95,
});

const NAMES = ["target", "spill", "pause", "terminate"] as const;

/** Environment variables worker processes read the fractions from ("false" disables one). */
export const MEMORY_ENV = {
  target: "SKEIN_MEMORY_TARGET",
  spill: "SKEIN_MEMORY_SPILL",
  pause: "SKEIN_MEMORY_PAUSE",
  terminate: "SKEIN_MEMORY_TERMINATE",
} as const;

function fraction(name: string, v: unknown): number | false {
  if (v === false || v === "false") return false;
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n <= 0 || n > 1) {
    throw new Error(`skein worker: memory ${name} fraction must be in (0, 1] or false, got ${JSON.stringify(v)}`);
  }
  return n;
}

/**
 * Fractions from defaults, then `env` (SKEIN_MEMORY_*), then `given` (options win). Throws on
 * a value outside (0, 1].
 */
export function resolveMemoryFractions(
  given: Partial<Record<keyof MemoryFractions, unknown>> = {},
  env: Readonly<Record<string, string | undefined>> = {},
): MemoryFractions {
  const out: Record<string, number | false> = { ...DEFAULT_MEMORY_FRACTIONS };
  for (const name of NAMES) {
    const e = env[MEMORY_ENV[name]];
    if (e !== undefined && e.trim() !== "") out[name] = fraction(name, e);
    const g = given[name];
    if (g !== undefined) out[name] = fraction(name, g);
  }
  return out as unknown as MemoryFractions;
}

/** Managed bytes above which a newly stored result pushes older ones to disk (Infinity: never). */
export function targetBytes(limit: number, f: MemoryFractions): number {
  return limit > 0 && f.target !== false ? f.target * limit : Infinity;
}

export interface MemorySample {
  /** Bytes of results held in memory (not counting spilled ones). */
  readonly managed: number;
  /** Process resident set size in bytes. */
  readonly rss: number;
  /** The worker's memory limit in bytes; 0 means no limit. */
  readonly limit: number;
}

export interface MemoryDecision {
  /** Bytes of least recently used results to move to disk now (0: none). */
  readonly spillBytes: number;
  /** Whether the worker should be paused after this sample. */
  readonly paused: boolean;
  /** Whether the process is past the terminate threshold (the nanny acts on it). */
  readonly terminate: boolean;
  /** Why, for the log, when anything is to be done; else null. */
  readonly reason: string | null;
}

const MB = 2 ** 20;
const mb = (n: number): string => `${(n / MB).toFixed(1)} MiB`;

/**
 * What to do for one memory sample. `wasPaused` is the worker's current state: a paused worker
 * resumes as soon as RSS is back at or below the pause threshold (dask has no hysteresis either).
 */
export function decideMemory(s: MemorySample, f: MemoryFractions, wasPaused: boolean): MemoryDecision {
  if (!(s.limit > 0)) return { spillBytes: 0, paused: false, terminate: false, reason: wasPaused ? "no memory limit" : null };
  const reasons: string[] = [];
  let spill = 0;
  if (f.target !== false && s.managed > f.target * s.limit) {
    spill = s.managed - f.target * s.limit;
    reasons.push(`managed memory ${mb(s.managed)} above target ${mb(f.target * s.limit)}`);
  }
  if (f.spill !== false && s.rss > f.spill * s.limit) {
    // Spill until RSS would be back at target (or at the spill threshold with no target).
    const goal = (f.target !== false ? f.target : f.spill) * s.limit;
    const want = Math.min(s.managed, s.rss - goal);
    if (want > spill) spill = want;
    reasons.push(`process memory ${mb(s.rss)} above spill threshold ${mb(f.spill * s.limit)}`);
  }
  const paused = f.pause !== false && s.rss > f.pause * s.limit;
  if (paused !== wasPaused) {
    reasons.push(paused ? `process memory ${mb(s.rss)} above pause threshold ${mb((f.pause as number) * s.limit)}: pausing` : `process memory ${mb(s.rss)} back below pause threshold: resuming`);
  }
  const terminate = f.terminate !== false && s.rss > f.terminate * s.limit;
  if (terminate) reasons.push(`process memory ${mb(s.rss)} above terminate threshold ${mb((f.terminate as number) * s.limit)}`);
  return { spillBytes: Math.max(0, spill), paused, terminate, reason: reasons.length > 0 ? reasons.join("; ") : null };
}
