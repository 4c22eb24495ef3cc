/**
 * Graph checks before anything runs: every dependency exists, and there are no cycles.
 * Iterative and linear in tasks + edges, so million-task graphs neither blow the stack nor
 * stall the client.
 */
import { GraphError } from "../errors.js";
import { indexGraph, type IndexedGraph } from "./indexed.js";
import type { Key } from "./spec.js";

const SHOW_CYCLE = 20;

function missingMessage(g: IndexedGraph): string {
  const shown = g.missing.map(([task, key]) => `task ${JSON.stringify(task)} depends on missing key ${JSON.stringify(key)}`);
  const rest = g.missingCount - shown.length;
  return `skein graph: ${shown.join("; ")}${rest > 0 ? `; and ${rest} more missing dependencies` : ""}`;
}

/** Keys print bare unless they would be ambiguous in an "a -> b" path. */
function show(k: Key): string {
  return /^[\w.:@/-]+$/.test(k) && !k.includes("->") ? k : JSON.stringify(k);
}

function cycleMessage(path: readonly Key[]): string {
  // path = [a, b, ..., a]; "a -> b" reads "a depends on b".
  let parts: string[];
  if (path.length <= SHOW_CYCLE) parts = path.map(show);
  else {
    const half = SHOW_CYCLE >> 1;
    parts = [...path.slice(0, half).map(show), `... (${path.length - SHOW_CYCLE} more) ...`, ...path.slice(-half).map(show)];
  }
  return `skein graph: cycle between tasks ${parts.join(" -> ")}`;
}

/** The first cycle found by an iterative DFS, as [a, b, ..., a], or null. */
export function findCycle(g: IndexedGraph): Key[] | null {
  const { keys, off, adj } = g;
  const n = keys.length;
  // state: 0 unvisited, 1 on the current path, 2 done.
  const state = new Uint8Array(n);
  const next = new Int32Array(n);
  const stack = new Int32Array(n);
  for (let root = 0; root < n; root++) {
    if (state[root] !== 0) continue;
    let sp = 0;
    stack[sp++] = root;
    state[root] = 1;
    next[root] = off[root];
    while (sp > 0) {
      const top = stack[sp - 1];
      const p = next[top];
      if (p < off[top + 1]) {
        next[top] = p + 1;
        const j = adj[p];
        const s = state[j];
        if (s === 0) {
          state[j] = 1;
          next[j] = off[j];
          stack[sp++] = j;
        } else if (s === 1) {
          let from = sp - 1;
          while (stack[from] !== j) from--;
          const path: Key[] = [];
          for (let q = from; q < sp; q++) path.push(keys[stack[q]]);
          path.push(keys[j]);
          return path;
        }
      } else {
        state[top] = 2;
        sp--;
      }
    }
  }
  return null;
}

/** Throws GraphError for missing dependencies or cycles of an indexed graph. */
export function checkIndexedGraph(g: IndexedGraph): void {
  if (g.missingCount > 0) throw new GraphError(missingMessage(g));
  const cycle = findCycle(g);
  if (cycle) throw new GraphError(cycleMessage(cycle));
}

/**
 * Throws GraphError if a task depends on a key that is neither in `deps` nor `known` (up to 5
 * are named), or if the tasks form a cycle (printed as `a -> b -> a`, "a depends on b").
 */
export function validateGraph(
  deps: ReadonlyMap<Key, readonly Key[]>,
  known: (k: Key) => boolean = () => false,
): void {
  checkIndexedGraph(indexGraph(deps, known));
}
