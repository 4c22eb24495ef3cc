/**
 * The scheduler's task stream: one record per startstop of every finished or failed task (its
 * compute, and any transfer / disk read / disk write the worker reported), in a bounded ring of
 * parallel arrays (dask's TaskStreamPlugin keeps the last 100,000 too). The dashboard reads it
 * by sequence number; performance reports read a time window of it.
 *
 * Workers do not say which of their threads ran a task, so each record gets a lane: a thread
 * of that worker that was free when the task started (a bar per thread row, as dask draws them).
 *
 * Beside it, a second ring counts results copied between workers (a worker's add-keys: a
 * dependency fetched or a replica made), with the bytes, per receiving worker and function.
 */
import type { Key } from "../graph/spec.js";
import { TASK_STREAM_ACTIONS, type DataTransfers, type StartStop, type TaskStreamRecords } from "../protocol.js";
import { keyPrefix } from "../graph/keys.js";
import type { SchedulerEvent } from "../scheduler/events.js";

/** Records kept by default. */
export const TASK_STREAM_CAPACITY = 100_000;

const ACTION_INDEX: Record<StartStop["action"], number> = { compute: 0, transfer: 1, "disk-read": 2, "disk-write": 3 };
/** Two bars closer than this (ms) on one lane count as consecutive, not overlapping. */
const LANE_SLACK_MS = 0.5;

interface StreamWorker {
  address: string;
  name: string;
  nthreads: number;
  /** Per lane: when its last bar ends. */
  laneEnds: Float64Array;
  /** Results copied to this worker from peers, and their bytes, since it joined. */
  received: number;
  receivedBytes: number;
}

/** First allocation of each ring; it doubles up to the capacity (an idle scheduler stays small). */
const INITIAL_ROWS = 1024;

function grown<T extends Int32Array | Uint8Array | Float64Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}

export class TaskStreamLog {
  readonly capacity: number;
  private keys: (Key | undefined)[] = [];
  private fn: Int32Array;
  private worker: Int32Array;
  private lane: Int32Array;
  private action: Uint8Array;
  private erred: Uint8Array;
  private start: Float64Array;
  private stop: Float64Array;
  private nbytes: Float64Array;
  /** Records ever written; record `seq` lives at `seq % capacity` while `seq >= total - capacity`. */
  private total = 0;
  private readonly fnIndex = new Map<string, number>();
  private readonly fnNames: string[] = [];
  private readonly workerIndex = new Map<string, number>();
  private readonly workers: StreamWorker[] = [];
  // The copies ring (same capacity).
  private tKeys: (Key | undefined)[] = [];
  private tFn: Int32Array;
  private tWorker: Int32Array;
  private tTime: Float64Array;
  private tBytes: Float64Array;
  private tTotal = 0;

  /** `nameOf(key)`: the function name of a task the scheduler still knows; `now`: epoch ms. */
  constructor(
    private readonly nameOf: (key: Key) => string | undefined,
    capacity = TASK_STREAM_CAPACITY,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`skein task stream: capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    const n = Math.min(capacity, INITIAL_ROWS);
    this.fn = new Int32Array(n);
    this.worker = new Int32Array(n);
    this.lane = new Int32Array(n);
    this.action = new Uint8Array(n);
    this.erred = new Uint8Array(n);
    this.start = new Float64Array(n);
    this.stop = new Float64Array(n);
    this.nbytes = new Float64Array(n);
    this.tFn = new Int32Array(n);
    this.tWorker = new Int32Array(n);
    this.tTime = new Float64Array(n);
    this.tBytes = new Float64Array(n);
  }

  /** Room for record `total` (the ring only wraps once it has reached the capacity). */
  private roomForRecord(): void {
    const size = this.fn.length;
    if (this.total < size || size >= this.capacity) return;
    const n = Math.min(this.capacity, size * 2);
    this.fn = grown(this.fn, n);
    this.worker = grown(this.worker, n);
    this.lane = grown(this.lane, n);
    this.action = grown(this.action, n);
    this.erred = grown(this.erred, n);
    this.start = grown(this.start, n);
    this.stop = grown(this.stop, n);
    this.nbytes = grown(this.nbytes, n);
  }

  private roomForCopy(): void {
    const size = this.tFn.length;
    if (this.tTotal < size || size >= this.capacity) return;
    const n = Math.min(this.capacity, size * 2);
    this.tFn = grown(this.tFn, n);
    this.tWorker = grown(this.tWorker, n);
    this.tTime = grown(this.tTime, n);
    this.tBytes = grown(this.tBytes, n);
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
      else if (ev.type === "add-keys") this.copied(ev.worker, ev.keys, ev.nbytes);
    }
  }

  /** Record results a worker now holds because it copied them from a peer. */
  copied(workerAddress: string, keys: readonly Key[], nbytes: Readonly<Record<Key, number>>): void {
    const w = this.workerAt(workerAddress, workerAddress, 1);
    const sw = this.workers[w];
    const time = this.now();
    const cap = this.capacity;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const b = Object.hasOwn(nbytes, key) ? nbytes[key] : 0;
      this.roomForCopy();
      const at = this.tTotal % cap;
      this.tKeys[at] = key;
      this.tFn[at] = this.fnId(this.nameOf(key) ?? keyPrefix(key));
      this.tWorker[at] = w;
      this.tTime[at] = time;
      this.tBytes[at] = b;
      this.tTotal++;
      sw.received++;
      sw.receivedBytes += b;
    }
  }

  /** Copies received by a worker since it joined: [count, bytes]. */
  received(workerAddress: string): [number, number] {
    const id = this.workerIndex.get(workerAddress);
    if (id === undefined) return [0, 0];
    const w = this.workers[id];
    return [w.received, w.receivedBytes];
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
      this.workers.push({ address, name, nthreads: n, laneEnds: new Float64Array(n).fill(-Infinity), received: 0, receivedBytes: 0 });
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
      this.roomForRecord();
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

  /**
   * Records overlapping [since, until] (epoch ms) and the copies made in it, oldest first, and
   * how many records were already dropped.
   */
  window(since: number, until: number): { records: TaskStreamRecords; transfers: DataTransfers; dropped: number } {
    const out = this.emptyColumns();
    const cap = this.capacity;
    for (let seq = this.oldest; seq < this.total; seq++) {
      const at = seq % cap;
      if (this.stop[at] >= since && this.start[at] <= until) this.push(out, at);
    }
    // The ring wrapped after the window began: the overwritten records may have overlapped it.
    const dropped = this.oldest > 0 && this.start[this.oldest % cap] > since ? this.oldest : 0;
    const transfers: DataTransfers = { key: [], fn: [], worker: [], time: [], nbytes: [] };
    for (let seq = Math.max(0, this.tTotal - cap); seq < this.tTotal; seq++) {
      const at = seq % cap;
      const t = this.tTime[at];
      if (t < since || t > until) continue;
      transfers.key.push(this.tKeys[at] as Key);
      transfers.fn.push(this.tFn[at]);
      transfers.worker.push(this.tWorker[at]);
      transfers.time.push(t);
      transfers.nbytes.push(this.tBytes[at]);
    }
    return { records: out, transfers, dropped };
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
