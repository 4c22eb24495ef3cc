/**
 * Work stealing (dask's WorkStealing, simplified): which queued tasks an idle worker should take
 * from a backlogged one. Pure selection over the scheduler's model; the state machine sends the
 * steal-request, and only moves the task once the victim confirms it had not started it.
 *
 * A steal pays when fetching the task's inputs to the thief costs less than waiting in the
 * victim's backlog:
 *
 *   transfer = bytes the thief lacks / bandwidth (+ one round trip when there are any)
 *   wait     = tasks ahead of it on the victim / victim threads * average task duration
 *
 * Candidates are a victim's lowest-priority tasks (the ones it would start last). Tasks with
 * worker restrictions or resources never move: their placement is the user's choice.
 */
import type { TaskState, WorkerState } from "./model.js";
import { higherPriority } from "./model.js";
import { BYTES_PER_MS, TRANSFER_LATENCY_MS } from "./placement.js";

export interface Steal {
  readonly ts: TaskState;
  readonly victim: WorkerState;
  readonly thief: WorkerState;
}

/** Tasks looked at per victim and round: bounds a round's cost on huge backlogs. */
const MAX_SCAN = 256;

/** Bytes of `ts`'s inputs that `ws` does not hold. */
function missingBytes(ts: TaskState, ws: WorkerState): number {
  let bytes = 0;
  const deps = ts.deps;
  for (let i = 0; i < deps.length; i++) {
    const holders = deps[i].whoHas;
    if (holders === null || !holders.includes(ws)) bytes += deps[i].nbytes;
  }
  return bytes;
}

/**
 * One balancing round. `thieves`: workers that may take work (running, not paused);
 * `victims`: every worker (a paused one's backlog is the first to move); `stealing`: tasks with
 * a steal already in flight, and `incoming`: steals in flight per thief, both left alone.
 */
export function chooseSteals(
  thieves: readonly WorkerState[],
  victims: readonly WorkerState[],
  avgDurationMs: number,
  stealing: { has(ts: TaskState): boolean },
  incoming: ReadonlyMap<WorkerState, number>,
): Steal[] {
  // Free threads per idle worker.
  const free = new Map<WorkerState, number>();
  for (const ws of thieves) {
    const n = ws.nthreads - ws.processing.size - (incoming.get(ws) ?? 0);
    if (n > 0) free.set(ws, n);
  }
  if (free.size === 0) return [];
  const out: Steal[] = [];
  for (const victim of victims) {
    // Tasks beyond what the victim can run at once; a paused victim runs nothing.
    let backlog = victim.processing.size - (victim.paused ? 0 : victim.nthreads);
    if (backlog <= 0) continue;
    const candidates: TaskState[] = [];
    let scanned = 0;
    for (const ts of victim.processing) {
      if (++scanned > MAX_SCAN) break;
      if (ts.rare !== null || stealing.has(ts)) continue;
      candidates.push(ts);
    }
    // Lowest priority first: the victim would start these last.
    candidates.sort((a, b) => (higherPriority(a, b) ? 1 : higherPriority(b, a) ? -1 : 0));
    for (let c = 0; c < candidates.length && backlog > 0 && free.size > 0; c++) {
      const ts = candidates[c];
      const waitMs = (backlog / victim.nthreads) * avgDurationMs;
      let best: WorkerState | null = null;
      let bestCost = Infinity;
      for (const [thief] of free) {
        if (thief === victim) continue;
        const bytes = missingBytes(ts, thief);
        const cost = bytes > 0 ? bytes / BYTES_PER_MS + TRANSFER_LATENCY_MS : 0;
        if (cost < bestCost) {
          bestCost = cost;
          best = thief;
        }
      }
      if (best === null || (!victim.paused && bestCost >= waitMs)) continue;
      out.push({ ts, victim, thief: best });
      backlog--;
      const left = (free.get(best) as number) - 1;
      if (left > 0) free.set(best, left);
      else free.delete(best);
    }
    if (free.size === 0) break;
  }
  return out;
}
