/**
 * XGBoost's collective communicator (1.7: rabit underneath), the piece distributed training
 * builds on: each participant calls `communicatorInit` with the tracker's address and its task
 * id, trains with ordinary `train` calls (XGBoost allreduces histograms through it), then
 * `communicatorFinalize`. The communicator is per native thread in XGBoost 1.7, so init, training
 * and finalize must run on one thread: these calls are synchronous on purpose.
 */
import { check, xgb } from "./ffi.js";

/**
 * Joins the collective. Keys as XGBoost 1.7's Python passes them: `DMLC_TRACKER_URI`,
 * `DMLC_TRACKER_PORT`, `DMLC_TASK_ID`, ... With no tracker, XGBoost runs single-process.
 * Blocks until the tracker answers (rabit retries with backoff, then fails with its message).
 */
export function communicatorInit(config: Record<string, string | number> = {}): void {
  const lib = xgb();
  check(lib, lib.XGCommunicatorInit(JSON.stringify(config)));
}

export function communicatorFinalize(): void {
  const lib = xgb();
  check(lib, lib.XGCommunicatorFinalize());
}

/** This participant's rank (0 when not distributed). */
export function communicatorRank(): number {
  return xgb().XGCommunicatorGetRank();
}

/** Number of participants (1 when not distributed). */
export function communicatorWorldSize(): number {
  return xgb().XGCommunicatorGetWorldSize();
}

export function communicatorIsDistributed(): boolean {
  return xgb().XGCommunicatorIsDistributed() !== 0;
}

/** Prints through the tracker (rank 0's log) when distributed, else to stdout. */
export function communicatorPrint(message: string): void {
  const lib = xgb();
  check(lib, lib.XGCommunicatorPrint(message));
}

/**
 * Resets this thread's rabit engine after a failed `communicatorInit`: rabit keeps the half-set-up
 * engine, and a later init on the same thread would then "succeed" without joining anything.
 * (It reports "shutdown" to the tracker, so call it while the tracker still listens.)
 */
export function communicatorAbandon(): void {
  xgb().RabitFinalize();
}
