/**
 * Functions that must run in a task thread. A worker runs a lone task of a few microseconds on
 * its own event loop instead of handing it to a thread (worker/inline-policy.ts); that is only
 * invisible to functions that keep no per-thread state. A function that looks up something an
 * earlier task left in its thread (a model session, a training replica, "this thread's"
 * counters) is marked here, and workers never run it anywhere but a task thread.
 */
const bound = new WeakSet<Function>();
/** Calls of marked functions so far in this thread (a task compares it before and after). */
let calls = 0;

/** Marks functions that depend on per-thread state; call it where they are defined. */
export function threadBound(...fns: Function[]): void {
  for (const fn of fns) {
    if (typeof fn !== "function") throw new TypeError(`skein: threadBound takes functions, got ${typeof fn}`);
    bound.add(fn);
  }
}

/** Counts a call of `fn` if it is marked (evaluate.ts calls this for every task function). */
export function noteCall(fn: Function): void {
  if (bound.has(fn)) calls++;
}

export function threadBoundCalls(): number {
  return calls;
}
