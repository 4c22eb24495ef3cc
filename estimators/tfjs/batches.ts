/**
 * Which rows make each step's batch, as plain arithmetic shared by the single-process loop and
 * the data-parallel one (so both see the same batches). An epoch has S = ceil(N / batchSize)
 * steps over N rows in all partitions; partition p (n_p rows) gives step s its rows
 * order_p[floor(s n_p / S) .. floor((s+1) n_p / S)), where order_p is the identity or, with
 * shuffle, a permutation seeded by (randomState, epoch, p). Batches are therefore near-equal
 * in size and every partition contributes in proportion to its rows.
 */
import { seededRandom } from "./model-ref.js";

export interface BatchPlan {
  batchSize: number;
  shuffle: boolean;
  randomState: number;
  /** Rows over every partition. */
  totalRows: number;
}

export function stepsPerEpoch(plan: BatchPlan): number {
  return Math.max(1, Math.ceil(plan.totalRows / plan.batchSize));
}

/** The row order of partition `part` (n rows) in `epoch`. */
export function rowOrder(plan: BatchPlan, epoch: number, part: number, n: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (!plan.shuffle) return order;
  // Fisher-Yates with a generator seeded by a mix of (randomState, epoch, part).
  const rnd = seededRandom(Math.imul(plan.randomState ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(epoch + 1, 0xc2b2ae35) ^ Math.imul(part + 1, 0x27d4eb2f));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/** [lo, hi) into the row order of a partition of n rows, for step s of S. */
export function chunkBounds(n: number, s: number, S: number): [number, number] {
  return [Math.floor((s * n) / S), Math.floor(((s + 1) * n) / S)];
}
