/**
 * What the dashboard shows, aggregated on the scheduler: one `DashboardUpdate` per viewer per
 * tick, whatever the graph's size. The task stream travels as the records added since that
 * viewer's last update (at most `maxStreamPerUpdate`, the newest), progress per function as a
 * handful of counts, workers as one row each.
 */
import type { Key } from "../graph/spec.js";
import type { Heartbeat, TaskStreamRecords } from "../protocol.js";
import type { SchedulerEvent, TaskStateName } from "../scheduler/events.js";
import type { SchedulerPlugin, SchedulerServer } from "../scheduler/server.js";
import { ProgressTracker, type FunctionProgress } from "./progress.js";

export interface WorkerRow {
  address: string;
  name: string;
  nthreads: number;
  memoryLimit: number;
  /** Bytes of results held in memory, spilled to disk, and the process's resident set size. */
  managed: number;
  spilled: number;
  rss: number;
  /** % of one core since the worker's previous heartbeat; null when the worker does not report it. */
  cpu: number | null;
  /** Tasks running now (heartbeat) and assigned by the scheduler. */
  executing: number;
  processing: number;
  /** Results held. */
  nkeys: number;
  /** Results copied to it from other workers since it joined, and their bytes. */
  received: number;
  receivedBytes: number;
  paused: boolean;
}

/** Task-stream bars added since the viewer's previous update; `row` indexes `rows` (worker:thread). */
export interface StreamDelta {
  fnNames: string[];
  rows: string[];
  start: number[];
  stop: number[];
  fn: number[];
  row: number[];
  action: number[];
  erred: number[];
  /** Bars skipped because more arrived than one update carries. */
  dropped: number;
}

export interface DashboardUpdate {
  type: "update";
  /** Scheduler clock, epoch ms. */
  time: number;
  scheduler: string;
  states: Record<TaskStateName, number>;
  progress: FunctionProgress[];
  workers: WorkerRow[];
  stream: StreamDelta;
}

/** Viewer-independent defaults. */
export const MAX_STREAM_PER_UPDATE = 5000;
/** Bars a new viewer gets at first. */
export const INITIAL_STREAM = 10_000;
const MAX_WORKER_ROWS = 500;

/** Rows of the task stream: one per worker thread, in join order. */
export function streamRows(workers: TaskStreamRecords["workers"]): { labels: string[]; offsets: number[] } {
  const labels: string[] = [];
  const offsets: number[] = [];
  for (const w of workers) {
    offsets.push(labels.length);
    for (let t = 0; t < w.nthreads; t++) labels.push(w.nthreads > 1 ? `${w.name}:${t}` : w.name);
  }
  return { labels, offsets };
}

/** Column records to the delta a viewer draws (rows instead of worker + lane). */
export function toDelta(rec: TaskStreamRecords, dropped: number): StreamDelta {
  const { labels, offsets } = streamRows(rec.workers);
  const n = rec.key.length;
  const row = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const w = rec.workers[rec.worker[i]];
    row[i] = offsets[rec.worker[i]] + Math.min(rec.lane[i], (w?.nthreads ?? 1) - 1);
  }
  return { fnNames: rec.fnNames, rows: labels, start: rec.start, stop: rec.stop, fn: rec.fn, row, action: rec.action, erred: rec.erred, dropped };
}

/**
 * The dashboard's scheduler plugin: per-function progress (reconciled with the state machine
 * at most once per tick, and less often when that gets expensive), latest heartbeats, and
 * the updates sent to viewers.
 */
export class DashboardModel implements SchedulerPlugin {
  readonly progress = new ProgressTracker();
  private readonly heartbeats = new Map<string, { executing: number; cpu: number | null }>();
  private reconciledAt = -1;
  private nextReconcile = 0;
  /** What every viewer gets this tick (all but the task stream), built once per tick. */
  private shared: Omit<DashboardUpdate, "stream"> | undefined;

  constructor(private readonly scheduler: SchedulerServer) {}

  onEvents(events: readonly SchedulerEvent[]): void {
    this.progress.onEvents(events);
    for (let i = 0; i < events.length; i++) {
      const ev = events[i];
      if (ev.type === "remove-worker") this.heartbeats.delete(ev.worker);
    }
  }

  onHeartbeat(worker: string, msg: Heartbeat): void {
    this.heartbeats.set(worker, { executing: msg.executing, cpu: typeof msg.cpu === "number" ? msg.cpu : null });
  }

  /**
   * Catch progress up with the scheduler if anything moved. A pass over N live tasks costs
   * O(N); after one that took d ms the next waits at least 20·d, so the dashboard never takes
   * more than ~5% of the scheduler's time however large the graph.
   */
  tick(now: number = Date.now(), force = false): void {
    this.shared = undefined;
    const state = this.scheduler.state;
    const transitions = state.transitions;
    if (transitions === this.reconciledAt && !force) return;
    if (now < this.nextReconcile && !force) return;
    const t0 = performance.now();
    this.progress.reconcile((key: Key) => state.taskState(key));
    const took = performance.now() - t0;
    this.reconciledAt = transitions;
    this.nextReconcile = now + 20 * took;
  }

  workerRows(): WorkerRow[] {
    const views = new Map(this.scheduler.state.workers().map((w) => [w.address, w]));
    const out: WorkerRow[] = [];
    for (const w of this.scheduler.workerInfo()) {
      if (out.length >= MAX_WORKER_ROWS) break;
      const v = views.get(w.address);
      const hb = this.heartbeats.get(w.address);
      const [received, receivedBytes] = this.scheduler.taskStream.received(w.address);
      out.push({
        address: w.address,
        name: w.name,
        nthreads: w.nthreads,
        memoryLimit: w.memoryLimit,
        managed: w.memory.managed,
        spilled: w.memory.spilled,
        rss: w.memory.rss,
        cpu: hb?.cpu ?? null,
        executing: hb?.executing ?? 0,
        processing: v?.processing ?? 0,
        nkeys: v?.nkeys ?? 0,
        received,
        receivedBytes,
        paused: v?.paused ?? false,
      });
    }
    return out;
  }

  /** The update for a viewer whose task-stream cursor is `cursor`; returns it and the new cursor. */
  update(cursor: number, maxStream = MAX_STREAM_PER_UPDATE): { update: DashboardUpdate; cursor: number } {
    const log = this.scheduler.taskStream;
    const end = log.written;
    const from = Math.max(cursor, end - maxStream, log.oldest);
    const delta = toDelta(log.slice(from, end), Math.max(0, from - cursor));
    this.shared ??= {
      type: "update",
      time: Date.now(),
      scheduler: this.schedulerAddress(),
      states: this.scheduler.state.counts(),
      progress: this.progress.view(),
      workers: this.workerRows(),
    };
    return { update: { ...this.shared, stream: delta }, cursor: end };
  }

  private schedulerAddress(): string {
    const all = this.scheduler.addresses;
    return all.find((a) => !a.startsWith("inproc://")) ?? all[0] ?? "";
  }
}
