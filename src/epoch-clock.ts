/**
 * Epoch milliseconds with sub-millisecond resolution. Workers time tasks with it and performance
 * reports choose their window with it: Date.now() is truncated to the millisecond, so a task that
 * ended just before a Date.now() window closed could seem to start after it.
 */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}
