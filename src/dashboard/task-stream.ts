/**
 * The scheduler's task stream: one record per startstop of every finished or failed task (its
 * compute, and any transfer / disk read / disk write the worker reported), in a bounded ring of
 * parallel arrays (dask's TaskStreamPlugin keeps the last 100,000 too). The dashboard reads it
 * by sequence number; performance reports read a time window of it.
 *
 * Workers do not say which of their threads ran a task, so each record gets a lane: the
 * worker's lowest-numbered thread that was free when the task started (a bar per thread row,
 * as dask draws them).
 */
import type { Key } from "../graph/spec.js";
import { TASK_STREAM_ACTIONS, type StartStop, type TaskStreamRecords } from "../protocol.js";
import type { SchedulerEvent } from "../scheduler/events.js";

/** Records kept by default. */
export const TASK_STREAM_CAPACITY = 100_000;

const ACTION_INDEX: Record<StartStop["action"], number> = { compute: 0, transfer: 1, "disk-read": 2, "disk-write": 3 };
/** Two bars closer than this (ms) on one lane count as consecutive, not overlapping. */
const LANE_SLACK_MS = 0.5;

/** `inc-3f2a9c` -> `inc`, `('sum', 3)`-style and plain keys unchanged (fallback when no name is known). */
export function keyPrefix(key: Key): string {
  const dash = key.lastIndexOf("-");
  return dash > 0 && /^[0-9a-f]{8,}$/.test(key.slice(dash + 1)) ? key.slice(0, dash) : key;
}

interface StreamWorker {
  address: string;
  name: string;
  nthreads: number;
  /** Per lane: when its last bar ends. */
  laneEnds: Float64Array;
}

export class TaskStreamLog {
  readonly capacity: number;
  private readonly keys: (Key | undefined)[];
  private readonly fn: Int32Array;
  private readonly worker: Int32Array;
  private readonly lane: Int32Array;
  private readonly action: Uint8Array;
  private readonly erred: Uint8Array;
  private readonly start: Float64Array;
  private readonly stop: Float64Array;
  private readonly nbytes: Float64Array;
  /** Records ever written; record `seq` lives at `seq % capacity` while `seq >= total - capacity`. */
  private total = 0;
  private readonly fnIndex = new Map<string, number>();
  private readonly fnNames: string[] = [];
  private readonly workerIndex = new Map<string, number>();
  private readonly workers: StreamWorker[] = [];

  /** `nameOf(key)`: the function name of a task the scheduler still knows. */
  constructor(
    private readonly nameOf: (key: Key) => string | undefined,
    capacity = TASK_STREAM_CAPACITY,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`skein task stream: capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.keys = new Array<Key | undefined>(capacity).fill(undefined);
    this.fn = new Int32Array(capacity);
    this.worker = new Int32Array(capacity);
    this.lane = new Int32Array(capacity);
    this.action = new Uint8Array(capacity);
    this.erred = new Uint8Array(capacity);
    this.start = new Float64Array(capacity);
    this.stop = new Float64Array(capacity);
    this.nbytes = new Float64Array(capacity);
  }

  /** Records written so far (the next record's sequence number). */
  get written(): number {
    return this.total;
  }

  /** Oldest sequence number still held. */
  get oldest(): number {
    return Math.max(0, this.total - this.capacity);
  }

  /** Feed a batch of scheduler events (before the state machine handles them: names still resolve). */
  onEvents(events: readonly SchedulerEvent[]): void {
    for (let i = 0; i < events.length; i++) {
      const ev = events[i];
      if (ev.type === "task-finished") this.add(ev.key, ev.worker, ev.startstops, false, ev.nbytes);
      else if (ev.type === "task-erred") this.add(ev.key, ev.worker, ev.startstops, true, 0);
      else if (ev.type === "add-worker") this.workerAt(ev.worker, ev.name, ev.nthreads);
    }
  }

  /** Function name index (interned). */
  fnId(name: string): number {
    let id = this.fnIndex.get(name);
    if (id === undefined) {
      id = this.fnNames.length;
      this.fnNames.push(name);
      this.fnIndex.set(name, id);
    }
    return id;
  }

  private workerAt(address: string, name: string, nthreads: number): number {
    let id = this.workerIndex.get(address);
    if (id === undefined) {
      id = this.workers.length;
      const n = Math.max(1, nthreads | 0);
      this.workers.push({ address, name, nthreads: n, laneEnds: new Float64Array(n).fill(-Infinity) });
      this.workerIndex.set(address, id);
    }
    return id;
  }

  /** Record one task's startstops (exposed for tests and replay). */
  add(key: Key, workerAddress: string, startstops: readonly StartStop[], erred: boolean, nbytes: number): void {
    if (startstops.length === 0) return;
    const w = this.workerAt(workerAddress, workerAddress, 1);
    const fn = this.fnId(this.nameOf(key) ?? keyPrefix(key));
    let first = Infinity;
    let last = -Infinity;
    for (let i = 0; i < startstops.length; i++) {
      if (startstops[i].start < first) first = startstops[i].start;
      if (startstops[i].stop > last) last = startstops[i].stop;
    }
    const lane = this.pickLane(this.workers[w], first, last);
    const cap = this.capacity;
    for (let i = 0; i < startstops.length; i++) {
      const ss = startstops[i];
      const at = this.total % cap;
      this.keys[at] = key;
      this.fn[at] = fn;
      this.worker[at] = w;
      this.lane[at] = lane;
      this.action[at] = ACTION_INDEX[ss.action] ?? 0;
      this.erred[at] = erred ? 1 : 0;
      this.start[at] = ss.start;
      this.stop[at] = ss.stop;
      this.nbytes[at] = ss.action === "compute" && !erred ? nbytes : 0;
      this.total++;
    }
  }

  /** The free lane that has been busy most recently (keeps bars packed), else the one freed first. */
  private pickLane(w: StreamWorker, start: number, stop: number): number {
    const ends = w.laneEnds;
    let best = -1;
    let earliest = 0;
    for (let l = 0; l < ends.length; l++) {
      if (ends[l] <= start + LANE_SLACK_MS && (best < 0 || ends[l] > ends[best])) best = l;
      if (ends[l] < ends[earliest]) earliest = l;
    }
    const lane = best >= 0 ? best : earliest;
    if (stop > ends[lane]) ends[lane] = stop;
    return lane;
  }

  /** Sequence numbers [from, to) as columns; `from` is clamped to what is still held. */
  slice(from: number, to = this.total): TaskStreamRecords {
    const out = this.emptyColumns();
    const lo = Math.max(from, this.oldest);
    for (let seq = lo; seq < to; seq++) this.push(out, seq % this.capacity);
    return out;
  }

  /** Records overlapping [since, until] (epoch ms), oldest first, and how many were already dropped. */
  window(since: number, until: number): { records: TaskStreamRecords; dropped: number } {
    const out = this.emptyColumns();
    const cap = this.capacity;
    for (let seq = this.oldest; seq < this.total; seq++) {
      const at = seq % cap;
      if (this.stop[at] >= since && this.start[at] <= until) this.push(out, at);
    }
    // The ring wrapped after the window began: the overwritten records may have overlapped it.
    const dropped = this.oldest > 0 && this.start[this.oldest % cap] > since ? this.oldest : 0;
    return { records: out, dropped };
  }

  private emptyColumns(): TaskStreamRecords {
    return {
      fnNames: this.fnNames.slice(),
      workers: this.workers.map((w) => ({ address: w.address, name: w.name, nthreads: w.nthreads })),
      key: [],
      fn: [],
      worker: [],
      lane: [],
      action: [],
      erred: [],
      start: [],
      stop: [],
      nbytes: [],
    };
  }

  private push(out: TaskStreamRecords, at: number): void {
    out.key.push(this.keys[at] as Key);
    out.fn.push(this.fn[at]);
    out.worker.push(this.worker[at]);
    out.lane.push(this.lane[at]);
    out.action.push(this.action[at]);
    out.erred.push(this.erred[at]);
    out.start.push(this.start[at]);
    out.stop.push(this.stop[at]);
    out.nbytes.push(this.nbytes[at]);
  }
}

/** Name of an action index, for display. */
export function actionName(i: number): string {
  return TASK_STREAM_ACTIONS[i] ?? "compute";
}
