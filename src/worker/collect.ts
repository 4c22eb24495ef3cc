/**
 * When the worker asks V8 for a full garbage collection. Results' typed arrays live in
 * SharedArrayBuffers (values.ts), freed only once every thread's wrapper of them is collected.
 * The worker's main thread allocates little, so it can go a long time without the major
 * collection that finds the released ones: predicting 10M rows again and again grew each
 * worker by ~70 MB a run without bound, and runs slowed by a third once fresh pages had to be
 * faulted in for every output. As Dask's ThrottledGC does, the worker collects once enough bytes
 * were released since the last collection, at most once per interval, and never more than 5% of
 * the time: a worker whose store holds many small JS objects pays far more per collection than one
 * holding typed arrays, so the interval stretches to 19 times the last collection's duration.
 * Pure policy: the caller owns the clock and the collector.
 */
export interface CollectPolicyOptions {
  /** Released bytes that make a collection due. */
  thresholdBytes: number;
  /** Least time between two collections. */
  minIntervalMs: number;
}

export const DEFAULT_COLLECT: CollectPolicyOptions = { thresholdBytes: 64 << 20, minIntervalMs: 500 };

/** Collections take at most this share of the time. */
const MAX_SHARE = 0.05;

export class CollectPolicy {
  private pending = 0;
  private last = -Infinity;
  private interval: number;

  constructor(private readonly opts: CollectPolicyOptions = DEFAULT_COLLECT) {
    this.interval = opts.minIntervalMs;
  }

  /** `nbytes` of results were just released at `now` (ms); true when a collection is due now. */
  released(nbytes: number, now: number): boolean {
    this.pending += nbytes;
    if (this.pending < this.opts.thresholdBytes || now - this.last < this.interval) return false;
    this.pending = 0;
    this.last = now;
    return true;
  }

  /** The collection just made took `durationMs`. */
  collected(durationMs: number): void {
    this.interval = Math.max(this.opts.minIntervalMs, (durationMs * (1 - MAX_SHARE)) / MAX_SHARE);
  }
}
