/**
 * A static, memory-friendly order for a graph (in the spirit of dask.order): run depth-first
 * towards the outputs, finishing one subtree before starting the next, so that intermediate
 * results are released early. A tree reduction then computes leaves pairwise and reduces
 * before loading more leaves; independent chains run one after the other.
 *
 * Method: post-order DFS from each output (task without dependents, in key order), visiting a
 * task's dependencies heaviest-first (largest dependency subtree, as Sethi-Ullman: the result
 * of the big subtree is then held while the small one runs, not the other way round), ties
 * broken by key. Linear apart from sorting each task's dependency list; iterative throughout.
 */
import { indexGraph, type IndexedGraph } from "./indexed.js";
import type { Key } from "./spec.js";
import { checkIndexedGraph } from "./validate.js";

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Compares keys with digit runs as numbers: "x-9" < "x-10". */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  let s = i;
  while (s > 0 && isDigit(a.charCodeAt(s - 1))) s--;
  const ad = i < a.length && isDigit(a.charCodeAt(i));
  const bd = i < b.length && isDigit(b.charCodeAt(i));
  // Inside a digit run on either side: the longer run is the larger number.
  if ((ad && bd) || (s < i && (ad || bd))) {
    let ea = i;
    while (ea < a.length && isDigit(a.charCodeAt(ea))) ea++;
    let eb = i;
    while (eb < b.length && isDigit(b.charCodeAt(eb))) eb++;
    if (ea - s !== eb - s) return ea - eb;
  }
  if (i === a.length) return -1;
  if (i === b.length) return 1;
  return a.charCodeAt(i) - b.charCodeAt(i);
}

/** Position of every task of `deps` in a memory-friendly run order (0 runs first). */
export function orderGraph(deps: ReadonlyMap<Key, readonly Key[]>): Map<Key, number> {
  return orderIndexedGraph(indexGraph(deps, () => true));
}

/** Validates (as validateGraph) and orders a graph, indexing it once. */
export function planGraph(
  deps: ReadonlyMap<Key, readonly Key[]>,
  known: (k: Key) => boolean = () => false,
): Map<Key, number> {
  const g = indexGraph(deps, known);
  checkIndexedGraph(g);
  return orderIndexedGraph(g);
}

export function orderIndexedGraph(g: IndexedGraph): Map<Key, number> {
  const { keys, off } = g;
  const n = keys.length;
  // Sorted below, per task: work on a copy so the caller's graph is left as it was.
  const adj = g.adj.slice();
  const ndependents = new Int32Array(n);
  for (let e = 0; e < adj.length; e++) ndependents[adj[e]]++;

  // Subtree weight: 1 + weights of dependencies (shared subtrees count once per use, which
  // is what holding their result costs). Post-order DFS; a cycle edge is ignored.
  const weight = new Float64Array(n);
  const state = new Uint8Array(n);
  const next = new Int32Array(n);
  const stack = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    if (state[r] !== 0) continue;
    let sp = 0;
    stack[sp++] = r;
    state[r] = 1;
    next[r] = off[r];
    while (sp > 0) {
      const t = stack[sp - 1];
      const p = next[t];
      if (p < off[t + 1]) {
        next[t] = p + 1;
        const j = adj[p];
        if (state[j] === 0) {
          state[j] = 1;
          next[j] = off[j];
          stack[sp++] = j;
        }
      } else {
        let w = 1;
        for (let q = off[t]; q < off[t + 1]; q++) w += weight[adj[q]];
        weight[t] = w;
        state[t] = 2;
        sp--;
      }
    }
  }

  const heavierFirst = (x: number, y: number): number => weight[y] - weight[x] || compareKeys(keys[x], keys[y]);
  for (let t = 0; t < n; t++) {
    if (off[t + 1] - off[t] > 1) adj.subarray(off[t], off[t + 1]).sort(heavierFirst);
  }

  const roots: number[] = [];
  for (let t = 0; t < n; t++) if (ndependents[t] === 0) roots.push(t);
  roots.sort((x, y) => compareKeys(keys[x], keys[y]));

  const order = new Map<Key, number>();
  state.fill(0);
  let pos = 0;
  const emitFrom = (r: number): void => {
    let sp = 0;
    stack[sp++] = r;
    state[r] = 1;
    next[r] = off[r];
    while (sp > 0) {
      const t = stack[sp - 1];
      const p = next[t];
      if (p < off[t + 1]) {
        next[t] = p + 1;
        const j = adj[p];
        if (state[j] === 0) {
          state[j] = 1;
          next[j] = off[j];
          stack[sp++] = j;
        }
      } else {
        state[t] = 2;
        order.set(keys[t], pos++);
        sp--;
      }
    }
  };
  for (let k = 0; k < roots.length; k++) if (state[roots[k]] === 0) emitFrom(roots[k]);
  // Tasks reachable only through a cycle (invalid graphs) still get a position.
  for (let t = 0; t < n && pos < n; t++) if (state[t] === 0) emitFrom(t);
  return order;
}
