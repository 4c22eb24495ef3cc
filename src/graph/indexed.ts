/**
 * A graph's dependency lists as integer arrays (CSR): task i reads tasks
 * adj[off[i]] .. adj[off[i+1]-1]. Building it costs one Map insert per task and one lookup per
 * edge; validate and order then run on plain integers.
 */
import type { Key } from "./spec.js";

export interface IndexedGraph {
  readonly keys: readonly Key[];
  readonly off: Int32Array;
  /** Dependencies inside the graph only; keys outside it are skipped. */
  readonly adj: Int32Array;
  /** Number of dependencies that are neither in the graph nor known. */
  readonly missingCount: number;
  /** The first few of those, as [task, missing key]. */
  readonly missing: readonly (readonly [Key, Key])[];
}

const KEEP_MISSING = 5;

export function indexGraph(
  deps: ReadonlyMap<Key, readonly Key[]>,
  known: (k: Key) => boolean = () => false,
): IndexedGraph {
  const n = deps.size;
  const keys = new Array<Key>(n);
  const index = new Map<Key, number>();
  let edges = 0;
  let i = 0;
  for (const [k, ds] of deps) {
    keys[i] = k;
    index.set(k, i++);
    edges += ds.length;
  }
  const off = new Int32Array(n + 1);
  let adj = new Int32Array(edges);
  const missing: [Key, Key][] = [];
  let missingCount = 0;
  let e = 0;
  i = 0;
  for (const ds of deps.values()) {
    off[i] = e;
    for (let d = 0; d < ds.length; d++) {
      const j = index.get(ds[d]);
      if (j !== undefined) adj[e++] = j;
      else if (!known(ds[d])) {
        missingCount++;
        if (missing.length < KEEP_MISSING) missing.push([keys[i], ds[d]]);
      }
    }
    i++;
  }
  off[n] = e;
  if (e < edges) adj = adj.slice(0, e);
  return { keys, off, adj, missingCount, missing };
}
