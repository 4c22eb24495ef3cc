/**
 * Where a ready task runs (dask's decide_worker, adapted).
 *
 * Root tasks (no dependencies, no restrictions, no resources) fill free slots: the least
 * occupied worker below its saturation limit, or the scheduler-side queue when every worker is
 * saturated. Everything else is placed at once by an estimated start time:
 *
 *   cost(worker) = backlog wait + transfer cost of the dependency bytes it does not hold
 *
 * With idle workers that reduces to the worker holding the most dependency bytes; it also moves
 * a task away from a holder whose backlog takes longer to drain than fetching the inputs would.
 * Without work stealing this is what keeps a map over one broadcast key from piling onto the
 * single worker that holds it. Ties: most bytes held, then least occupancy (processing /
 * nthreads), then least recently assigned (round-robin).
 */
import type { RareState, TaskState, WorkerState } from "./model.js";

/** Assumed network bandwidth, bytes per millisecond (100 MB/s, dask's default). */
export const BYTES_PER_MS = 100_000;
/** Fixed cost of having to fetch anything at all (a round trip to a peer), in ms. */
export const TRANSFER_LATENCY_MS = 1;
/**
 * Task duration assumed before any task has reported one, in ms. Deliberately above the
 * transfer latency: until we know better, spreading work beats queueing it behind a holder.
 */
export const UNKNOWN_DURATION_MS = 10;

/** decideWorker outcome: no connected worker can ever run the task (restrictions/resources). */
export const NONE_FITS = 0;
/** decideWorker outcome: a worker could run it, but its resources are in use right now. */
export const ALL_BUSY = 1;

export function saturationLimit(ws: WorkerState, factor: number): number {
  const limit = Math.ceil(ws.nthreads * factor);
  return limit > 1 ? limit : 1;
}

/** a strictly less occupied than b (processing / nthreads, compared without dividing). */
function lessOccupied(a: WorkerState, b: WorkerState): boolean {
  return a.processing.size * b.nthreads < b.processing.size * a.nthreads;
}

function sameOccupancy(a: WorkerState, b: WorkerState): boolean {
  return a.processing.size * b.nthreads === b.processing.size * a.nthreads;
}

/** The least occupied worker with a free slot, or null when all are saturated. O(workers). */
export function rootSlot(workers: readonly WorkerState[], factor: number): WorkerState | null {
  let best: WorkerState | null = null;
  for (let i = 0; i < workers.length; i++) {
    const ws = workers[i];
    if (ws.processing.size >= saturationLimit(ws, factor)) continue;
    // Among equally busy workers, the most recently used one: a chain of submit -> result round
    // trips then stays on one warm worker instead of waking a sleeping one each time.
    if (best === null || lessOccupied(ws, best) || (sameOccupancy(ws, best) && ws.lastUsed > best.lastUsed)) {
      best = ws;
    }
  }
  return best;
}

export function matchesRestrictions(ws: WorkerState, allowed: readonly string[]): boolean {
  return allowed.includes(ws.address) || allowed.includes(ws.name);
}

function covers(have: Readonly<Record<string, number>>, rare: RareState): boolean {
  const names = rare.resNames as string[];
  const amounts = rare.resAmounts as number[];
  for (let i = 0; i < names.length; i++) {
    const h = have[names[i]];
    if (h === undefined || h < amounts[i]) return false;
  }
  return true;
}

/** Whether any connected worker could ever run the task (capacity, not current availability). */
export function anyCapable(ts: TaskState, workers: readonly WorkerState[]): boolean {
  return decideWorkerImpl(ts, workers, 0, true) !== NONE_FITS;
}

/** A worker for a task that is not a plain root task, or NONE_FITS / ALL_BUSY. */
export function decideWorker(
  ts: TaskState,
  workers: readonly WorkerState[],
  avgDurationMs: number,
): WorkerState | typeof NONE_FITS | typeof ALL_BUSY {
  return decideWorkerImpl(ts, workers, avgDurationMs, false);
}

function decideWorkerImpl(
  ts: TaskState,
  workers: readonly WorkerState[],
  avgDurationMs: number,
  capacityOnly: boolean,
): WorkerState | typeof NONE_FITS | typeof ALL_BUSY {
  const deps = ts.deps;
  let total = 0;
  for (let i = 0; i < deps.length; i++) {
    const d = deps[i];
    total += d.nbytes;
    const holders = d.whoHas;
    if (holders !== null) {
      for (let j = 0; j < holders.length; j++) {
        holders[j].scratchBytes += d.nbytes;
        holders[j].scratchDeps++;
      }
    }
  }

  const rare = ts.rare;
  let allowed = rare !== null ? rare.workers : null;
  if (allowed !== null && (rare as RareState).allowOtherWorkers) {
    let any = false;
    for (let i = 0; i < workers.length && !any; i++) any = matchesRestrictions(workers[i], allowed);
    if (!any) allowed = null; // loose restrictions: fall back to every worker
  }
  const needs = rare !== null && rare.resNames !== null ? rare : null;

  let best: WorkerState | null = null;
  let bestCost = Infinity;
  let capable = false;
  for (let i = 0; i < workers.length; i++) {
    const ws = workers[i];
    if (allowed !== null && !matchesRestrictions(ws, allowed)) continue;
    if (needs !== null) {
      if (!covers(ws.resources, needs)) continue;
      capable = true;
      if (capacityOnly) break;
      if (!covers(ws.available, needs)) continue;
    }
    capable = true;
    if (capacityOnly) break;
    const ahead = ws.processing.size + 1 - ws.nthreads;
    const wait = ahead > 0 ? (ahead / ws.nthreads) * avgDurationMs : 0;
    const fetch =
      ws.scratchDeps < deps.length ? TRANSFER_LATENCY_MS + (total - ws.scratchBytes) / BYTES_PER_MS : 0;
    const cost = wait + fetch;
    if (
      best === null ||
      cost < bestCost ||
      (cost === bestCost &&
        (ws.scratchBytes > best.scratchBytes ||
          (ws.scratchBytes === best.scratchBytes &&
            (lessOccupied(ws, best) || (sameOccupancy(ws, best) && ws.lastUsed < best.lastUsed)))))
    ) {
      best = ws;
      bestCost = cost;
    }
  }

  for (let i = 0; i < deps.length; i++) {
    const holders = deps[i].whoHas;
    if (holders !== null) {
      for (let j = 0; j < holders.length; j++) {
        holders[j].scratchBytes = 0;
        holders[j].scratchDeps = 0;
      }
    }
  }
  if (best !== null) return best;
  return capable ? ALL_BUSY : NONE_FITS;
}
