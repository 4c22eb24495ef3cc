/**
 * `visualize(x, "graph.svg")`: the task graph of a Delayed, a collection, a raw graph or some
 * Futures, drawn by Graphviz compiled to WebAssembly (@viz-js/viz, no system binary). One node per
 * task (id: its key, label: its function), arrows from inputs to the tasks reading them, coloured
 * by state once the graph has run. Big graphs collapse to one node per function with counts.
 */
import { writeFile } from "node:fs/promises";
import { extname } from "node:path";
import { Future, type KeyRecord } from "../client/future.js";
import { SkeinError, TaskError } from "../errors.js";
import { Delayed, getDefaultComputer } from "./delayed.js";
import { normalizeGraph } from "./raw.js";
import type { Key } from "./spec.js";
import { TASK_STREAM_ACTIONS, type TaskStreamRecords } from "../protocol.js";

export type VisualState = "pending" | "done" | "erred" | "cancelled";

/** What can be drawn: a Delayed, a collection (anything with `parts`), Futures, a raw graph, or a list of them. */
export type Visualizable =
  | Delayed<unknown>
  | Future<unknown>
  | { readonly parts: readonly (Delayed<unknown> | Future<unknown>)[] }
  | Readonly<Record<string, unknown>>
  | readonly (Delayed<unknown> | Future<unknown>)[];

/** Where states of keys come from: the client holding Futures on them (`Client` is one). */
export interface KeyStateSource {
  keyRecord(key: Key): KeyRecord | undefined;
  /** The scheduler's record of what ran (optional): colours keys no Future is held on. */
  taskStreamWindow?(since: number, until: number): Promise<{ records: Pick<TaskStreamRecords, "key" | "action" | "erred"> }>;
}

export interface VisualizeOptions {
  /** "svg" or "dot"; default from the path's extension, else svg. */
  format?: "svg" | "dot";
  /** Explicit states (e.g. from the scheduler); they win over what is inferred. */
  states?: ReadonlyMap<Key, VisualState> | Readonly<Record<Key, VisualState>>;
  /** Futures whose states colour the graph, e.g. what `client.compute(d)` returned. */
  futures?: Future<unknown> | readonly Future<unknown>[];
  /** Where held keys' states are read; default the most recently connected client. */
  client?: KeyStateSource;
  /** Above this many tasks, one node per function with counts. Default 250. */
  maxNodes?: number;
  /** Graphviz rankdir. Default "BT": inputs at the bottom, results on top (as dask draws). */
  rankdir?: "TB" | "BT" | "LR" | "RL";
}

interface VNode {
  name: string;
  deps: readonly Key[];
  data: boolean;
}

const FILL: Record<VisualState, string> = {
  pending: "#e8eaed",
  done: "#a8dab5",
  erred: "#f28b82",
  cancelled: "#fdd663",
};

/** The graph behind `x`: tasks by key with their function names and inputs. */
export function graphOf(x: Visualizable): { nodes: Map<Key, VNode>; futures: Future<unknown>[] } {
  const nodes = new Map<Key, VNode>();
  const futures: Future<unknown>[] = [];
  const addDelayed = (d: Delayed<unknown>): void => {
    for (const t of d.tasks()) {
      if (!nodes.has(t.key)) nodes.set(t.key, { name: t.fn ? t.fn.name : "data", deps: t.deps, data: t.fn === null });
    }
    // Futures a Delayed reads are inputs too (their keys are not among its tasks).
    collectExternal(d, nodes, futures);
  };
  const addFuture = (f: Future<unknown>): void => {
    futures.push(f);
    if (!nodes.has(f.key)) nodes.set(f.key, { name: nameOfKey(f.key), deps: [], data: false });
  };
  const addItem = (v: unknown, where: string): void => {
    if (v instanceof Delayed) addDelayed(v);
    else if (v instanceof Future) addFuture(v);
    else throw new SkeinError(`skein visualize: ${where} is neither a Delayed nor a Future (got ${describe(v)})`);
  };
  if (x instanceof Delayed || x instanceof Future) addItem(x, "the value");
  else if (Array.isArray(x)) x.forEach((v, i) => addItem(v, `item ${i}`));
  else if (x !== null && typeof x === "object" && Array.isArray((x as { parts?: unknown }).parts)) {
    (x as { parts: unknown[] }).parts.forEach((v, i) => addItem(v, `partition ${i}`));
  } else if (x !== null && typeof x === "object") {
    const locate = (fn: Function) => ({ module: "", name: fn.name || "anonymous" });
    for (const t of normalizeGraph(x as Readonly<Record<string, unknown>>, locate)) {
      nodes.set(t.key, { name: t.fn ? t.fn.name : "data", deps: t.deps, data: t.fn === null });
    }
  } else {
    throw new SkeinError(`skein visualize: expected a Delayed, a collection, Futures or a raw graph, got ${describe(x)}`);
  }
  return { nodes, futures };
}

function collectExternal(d: Delayed<unknown>, nodes: Map<Key, VNode>, futures: Future<unknown>[]): void {
  const seen = new Set<Key>();
  const stack: Delayed<unknown>[] = [d];
  while (stack.length > 0) {
    const cur = stack.pop()!;
    if (seen.has(cur.key)) continue;
    seen.add(cur.key);
    for (const [key, v] of cur.external) {
      if (v instanceof Future) futures.push(v);
      if (!nodes.has(key)) nodes.set(key, { name: nameOfKey(key), deps: [], data: true });
    }
    for (const dep of cur.dependencies) stack.push(dep);
  }
}

/** Keys are `<function>-<token>`: the function's name is what precedes the last dash. */
function nameOfKey(key: Key): string {
  const i = key.lastIndexOf("-");
  return i > 0 ? key.slice(0, i) : key;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v !== "object") return typeof v;
  return (v as object).constructor?.name ?? "object";
}

/**
 * States of the graph's keys: explicit ones, then those of held Futures; a finished key means its
 * inputs finished, a failed one fails what reads it. Keys with no evidence are left out.
 */
export function inferStates(nodes: ReadonlyMap<Key, VNode>, o: VisualizeOptions, futures: readonly Future<unknown>[] = []): Map<Key, VisualState> {
  const states = new Map<Key, VisualState>();
  const fromRecord = (r: KeyRecord): void => {
    if (states.has(r.key)) return;
    switch (r.status) {
      case "finished":
        states.set(r.key, "done");
        break;
      case "error": {
        states.set(r.key, "erred");
        const cause = r.error instanceof TaskError ? r.error.causeKey : undefined;
        if (cause !== undefined && !states.has(cause)) states.set(cause, "erred");
        break;
      }
      case "cancelled":
        states.set(r.key, "cancelled");
        break;
      case "pending":
        states.set(r.key, "pending");
        break;
    }
  };
  const explicit = o.states instanceof Map ? o.states : new Map(Object.entries((o.states ?? {}) as Record<Key, VisualState>));
  for (const [k, s] of explicit) states.set(k, s);
  const given = o.futures === undefined ? [] : o.futures instanceof Future ? [o.futures] : o.futures;
  for (const f of given) fromRecord(f.record);
  for (const f of futures) fromRecord(f.record);
  const source = o.client ?? asStateSource(getDefaultComputer());
  if (source) {
    for (const k of nodes.keys()) {
      if (states.has(k)) continue;
      const r = source.keyRecord(k);
      if (r) fromRecord(r);
    }
  }
  if (states.size === 0) return states;
  // Inputs of a task that finished, or that failed by itself, have finished.
  const stack: Key[] = [];
  for (const [k, s] of states) {
    if (s === "done" || (s === "erred" && !hasErredInput(k, nodes, states))) stack.push(k);
  }
  while (stack.length > 0) {
    const node = nodes.get(stack.pop()!);
    if (!node) continue;
    for (const d of node.deps) {
      if (states.has(d)) continue;
      states.set(d, "done");
      stack.push(d);
    }
  }
  // What reads a failed task fails too; everything else has not finished yet.
  const dependents = new Map<Key, Key[]>();
  for (const [k, n] of nodes) for (const d of n.deps) (dependents.get(d) ?? dependents.set(d, []).get(d)!).push(k);
  for (const [k, s] of states) if (s === "erred") stack.push(k);
  while (stack.length > 0) {
    for (const r of dependents.get(stack.pop()!) ?? []) {
      if (states.get(r) === "erred") continue;
      if (states.has(r) && states.get(r) !== "pending") continue;
      states.set(r, "erred");
      stack.push(r);
    }
  }
  for (const k of nodes.keys()) if (!states.has(k)) states.set(k, "pending");
  return states;
}

function hasErredInput(k: Key, nodes: ReadonlyMap<Key, VNode>, states: ReadonlyMap<Key, VisualState>): boolean {
  return nodes.get(k)?.deps.some((d) => states.get(d) === "erred") ?? false;
}

function asStateSource(c: unknown): KeyStateSource | undefined {
  if (c === null || typeof c !== "object" || typeof (c as KeyStateSource).keyRecord !== "function") return undefined;
  if ((c as { closed?: boolean }).closed === true) return undefined;
  return c as KeyStateSource;
}

/** Graphviz DOT text for `x` (no rendering). */
export function toDot(x: Visualizable, o: VisualizeOptions = {}): string {
  const { nodes, futures } = graphOf(x);
  const states = inferStates(nodes, o, futures);
  const maxNodes = o.maxNodes ?? 250;
  const lines = [
    "digraph skein {",
    `  rankdir=${o.rankdir ?? "BT"};`,
    '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=11];',
    '  edge [color="#5f6368", arrowsize=0.6];',
  ];
  if (nodes.size <= maxNodes) taskLines(nodes, states, lines);
  else groupLines(nodes, states, lines);
  lines.push("}");
  return lines.join("\n") + "\n";
}

function taskLines(nodes: ReadonlyMap<Key, VNode>, states: ReadonlyMap<Key, VisualState>, out: string[]): void {
  for (const [key, n] of nodes) {
    const s = states.get(key);
    // A data node has no function: its key says more.
    const label = n.data ? (key.length > 24 ? key.slice(0, 23) + "…" : key) : n.name;
    const attrs = [`label=${q(label)}`, `tooltip=${q(s ? `${key} (${s})` : key)}`];
    if (n.data) attrs.push("shape=ellipse");
    if (s) attrs.push(`fillcolor=${q(FILL[s])}`);
    out.push(`  ${q(key)} [${attrs.join(", ")}];`);
  }
  for (const [key, n] of nodes) for (const d of n.deps) if (nodes.has(d)) out.push(`  ${q(d)} -> ${q(key)};`);
}

/** One node per function name: "inc ×1000" with its states counted; edges weighted by count. */
function groupLines(nodes: ReadonlyMap<Key, VNode>, states: ReadonlyMap<Key, VisualState>, out: string[]): void {
  const groups = new Map<string, { count: number; byState: Record<VisualState, number>; data: boolean }>();
  const group = (name: string, data: boolean) => {
    let g = groups.get(name);
    if (!g) groups.set(name, (g = { count: 0, byState: { pending: 0, done: 0, erred: 0, cancelled: 0 }, data }));
    return g;
  };
  const edges = new Map<string, number>();
  for (const [key, n] of nodes) {
    const g = group(n.name, n.data);
    g.count++;
    const s = states.get(key);
    if (s) g.byState[s]++;
    for (const d of n.deps) {
      const dn = nodes.get(d);
      if (!dn) continue;
      const e = `${dn.name}\u0000${n.name}`;
      edges.set(e, (edges.get(e) ?? 0) + 1);
    }
  }
  for (const [name, g] of groups) {
    const counted = (Object.keys(g.byState) as VisualState[]).filter((s) => g.byState[s] > 0);
    const detail = counted.map((s) => `${g.byState[s]} ${s}`).join(", ");
    const attrs = [`label=${q(`${name} ×${g.count}${detail ? `\n${detail}` : ""}`)}`, `tooltip=${q(`${g.count} tasks of ${name}`)}`];
    if (g.data) attrs.push("shape=ellipse");
    if (counted.length > 0) attrs.push(`fillcolor=${q(groupFill(g.byState, g.count))}`);
    out.push(`  ${q(`group:${name}`)} [${attrs.join(", ")}];`);
  }
  for (const [e, n] of edges) {
    const [from, to] = e.split("\u0000");
    out.push(`  ${q(`group:${from}`)} -> ${q(`group:${to}`)} [label=${q(String(n))}, penwidth=${Math.min(4, 1 + Math.log10(n)).toFixed(2)}];`);
  }
}

/** A group is red if any task failed, green when all are done, a two-colour gradient in between. */
function groupFill(by: Record<VisualState, number>, count: number): string {
  if (by.erred > 0) return FILL.erred;
  if (by.done === count) return FILL.done;
  if (by.done === 0) return by.cancelled > 0 ? FILL.cancelled : FILL.pending;
  const f = (by.done / count).toFixed(2);
  return `${FILL.done};${f}:${FILL.pending}`;
}

function q(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/**
 * `o` plus the states of the graph's keys the scheduler's task stream saw computed (the last
 * attempt of each wins), under any explicit ones. Without a client that offers it, `o` as is.
 */
async function withRanStates(x: Visualizable, o: VisualizeOptions): Promise<VisualizeOptions> {
  const source = o.client ?? asStateSource(getDefaultComputer());
  if (!source?.taskStreamWindow) return o;
  let records: Pick<TaskStreamRecords, "key" | "action" | "erred">;
  try {
    ({ records } = await source.taskStreamWindow(0, Date.now()));
  } catch {
    return o; // the drawing does not depend on it
  }
  const { nodes } = graphOf(x);
  const ran = new Map<Key, VisualState>();
  for (let i = 0; i < records.key.length; i++) {
    const k = records.key[i];
    if (records.action[i] === COMPUTE && nodes.has(k)) ran.set(k, records.erred[i] ? "erred" : "done");
  }
  if (ran.size === 0) return o;
  const explicit = o.states instanceof Map ? o.states : Object.entries(o.states ?? {});
  for (const [k, st] of explicit) ran.set(k, st);
  return { ...o, states: ran };
}

const COMPUTE = TASK_STREAM_ACTIONS.indexOf("compute");

let vizInstance: Promise<{ renderString(dot: string, o: { format: string }): string }> | undefined;

/**
 * Draw `x` and write it to `path` (".svg" or ".dot"); resolves to the text written. Without a
 * path, resolves to the SVG (or DOT with `format: "dot"`) without writing anything.
 */
export async function visualize(x: Visualizable, path?: string, o: VisualizeOptions = {}): Promise<string> {
  let format = o.format;
  if (format === undefined && path !== undefined) {
    const ext = extname(path).toLowerCase();
    if (ext === ".dot" || ext === ".gv") format = "dot";
    else if (ext === ".svg") format = "svg";
    else throw new SkeinError(`skein visualize: cannot tell the format of "${path}": use a .svg or .dot file name, or the format option`);
  }
  const dot = toDot(x, await withRanStates(x, o));
  let text = dot;
  if ((format ?? "svg") === "svg") {
    vizInstance ??= import("@viz-js/viz").then((m) => m.instance());
    text = (await vizInstance).renderString(dot, { format: "svg" });
  }
  if (path !== undefined) await writeFile(path, text);
  return text;
}
