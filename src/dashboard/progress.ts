/**
 * Progress per function (dask's "task groups"): how many of each function's tasks wait, run,
 * sit in memory, failed, or are done (finished, result since released).
 *
 * The state machine is not changed for this: tasks are learned from update-graph events, and
 * `reconcile` asks the scheduler for the state of every task still live, at the dashboard's
 * rate (not per transition). A task forgotten by the scheduler leaves the map and stays in its
 * function's count as done (it finished) or erred, or drops out (cancelled before it ran).
 * Per task the map holds one number: group << 5 | finished << 4 | erredSeen << 3 | category.
 */
import type { Key } from "../graph/spec.js";
import type { SchedulerEvent, TaskStateName } from "../scheduler/events.js";

export const CATEGORIES = ["waiting", "processing", "memory", "erred", "done"] as const;
export type Category = (typeof CATEGORIES)[number];
const WAITING = 0;
const PROCESSING = 1;
const MEMORY = 2;
const ERRED = 3;
const DONE = 4;
const NCAT = 5;
const FINISHED = 16;
const ERRED_SEEN = 8;
const CAT_MASK = 7;
/** Returned by `categoryOf` for a forgotten task that never finished nor failed. */
const GONE = -1;

export interface FunctionProgress {
  name: string;
  total: number;
  waiting: number;
  processing: number;
  memory: number;
  erred: number;
  done: number;
}

function categoryOf(state: TaskStateName | undefined, packed: number): number {
  switch (state) {
    case "memory":
      return MEMORY;
    case "erred":
      return ERRED;
    case "processing":
      return PROCESSING;
    case "waiting":
    case "no-worker":
    case "queued":
      return WAITING;
    case "released":
      return packed & FINISHED ? DONE : WAITING;
    default:
      // Forgotten: the last thing it did decides.
      if (packed & FINISHED) return DONE;
      if (packed & ERRED_SEEN || (packed & CAT_MASK) === ERRED) return ERRED;
      return GONE;
  }
}

export class ProgressTracker {
  private readonly live = new Map<Key, number>();
  private readonly names: string[] = [];
  private readonly nameIndex = new Map<string, number>();
  /** NCAT counts per group, flat. */
  private counts = new Float64Array(NCAT * 16);
  /** Reconcile serial at which each group last changed (the view lists recent groups first). */
  private touched: number[] = [];
  private serial = 0;

  /** Live tasks tracked (forgotten ones are dropped by `reconcile`). */
  get size(): number {
    return this.live.size;
  }

  onEvents(events: readonly SchedulerEvent[]): void {
    for (let i = 0; i < events.length; i++) {
      const ev = events[i];
      if (ev.type === "update-graph") {
        const tasks = ev.tasks;
        for (let j = 0; j < tasks.length; j++) {
          const t = tasks[j];
          if (this.live.has(t.key)) continue;
          const g = this.group(t.name);
          this.live.set(t.key, g << 5);
          this.counts[g * NCAT + WAITING]++;
          this.touched[g] = this.serial + 1;
        }
      } else if (ev.type === "task-finished") {
        const v = this.live.get(ev.key);
        if (v !== undefined) this.live.set(ev.key, v | FINISHED);
      } else if (ev.type === "task-erred") {
        const v = this.live.get(ev.key);
        if (v !== undefined) this.live.set(ev.key, v | ERRED_SEEN);
      }
    }
  }

  private group(name: string): number {
    let g = this.nameIndex.get(name);
    if (g === undefined) {
      g = this.names.length;
      this.names.push(name);
      this.nameIndex.set(name, g);
      if ((g + 1) * NCAT > this.counts.length) {
        const grown = new Float64Array(this.counts.length * 2);
        grown.set(this.counts);
        this.counts = grown;
      }
    }
    return g;
  }

  /** Bring every live task's category up to date with the scheduler's states. */
  reconcile(stateOf: (key: Key) => TaskStateName | undefined): void {
    this.serial++;
    const counts = this.counts;
    for (const [key, v] of this.live) {
      const state = stateOf(key);
      const cat = categoryOf(state, v);
      const old = v & CAT_MASK;
      if (cat === old && state !== undefined) continue;
      const g = v >> 5;
      counts[g * NCAT + old]--;
      if (cat !== GONE) counts[g * NCAT + cat]++;
      this.touched[g] = this.serial;
      if (state === undefined) this.live.delete(key);
      else this.live.set(key, (v & ~CAT_MASK) | cat);
    }
  }

  /** Per function, most recently active first, at most `limit`. */
  view(limit = 50): FunctionProgress[] {
    const order: number[] = [];
    for (let g = 0; g < this.names.length; g++) order.push(g);
    order.sort((a, b) => this.touched[b] - this.touched[a] || a - b);
    const out: FunctionProgress[] = [];
    for (const g of order.slice(0, limit)) {
      const c = this.counts.subarray(g * NCAT, g * NCAT + NCAT);
      const total = c[0] + c[1] + c[2] + c[3] + c[4];
      if (total === 0) continue;
      out.push({ name: this.names[g], total, waiting: c[WAITING], processing: c[PROCESSING], memory: c[MEMORY], erred: c[ERRED], done: c[DONE] });
    }
    return out;
  }
}
