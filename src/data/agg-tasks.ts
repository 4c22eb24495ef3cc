/**
 * Grouped aggregation as a tree reduction: each partition becomes a partial (per group: count,
 * sum, sum of squared deviations from the group mean, min, max of every value column), partials
 * merge k at a time (Chan et al.'s update keeps the variance exact to rounding), and the root
 * becomes the result table. NaN values are skipped (pandas' skipna); rows whose key is null or
 * NaN form no group (pandas' dropna).
 */
import { SkeinError } from "../errors.js";
import { allocColumn, toF64 } from "./partition.js";
import type { Column, Dtype, FramePartition, Schema } from "./types.js";

export type AggOp = "sum" | "mean" | "count" | "min" | "max" | "std";
export const AGG_OPS: readonly AggOp[] = ["sum", "mean", "count", "min", "max", "std"];

/** Per-group statistics of one or more partitions; plain data. */
export interface AggPartial {
  keyNames: string[];
  /** keys[c][g]: value of key column c for group g. */
  keys: unknown[][];
  cols: string[];
  /** stats[c] for value column c, each indexed by group. */
  count: Float64Array[];
  sum: Float64Array[];
  m2: Float64Array[];
  min: Float64Array[];
  max: Float64Array[];
}

const SEP = "\u0000";

function tupleKey(keys: unknown[][], g: number): unknown {
  if (keys.length === 1) return keys[0][g];
  let s = "";
  for (let c = 0; c < keys.length; c++) {
    const v = keys[c][g];
    s += (typeof v === "string" ? "s" : "n") + String(v) + SEP;
  }
  return s;
}

function isNullKey(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === "number" && v !== v);
}

function emptyPartial(keyNames: string[], cols: string[], groups: number): AggPartial {
  const f = (fill: number) => cols.map(() => new Float64Array(groups).fill(fill));
  return { keyNames, keys: keyNames.map(() => []), cols, count: f(0), sum: f(0), m2: f(0), min: f(Infinity), max: f(-Infinity) };
}

/** The partial of one partition. With no key columns every row is in group 0 (which always exists). */
export function aggPartialTask(p: FramePartition, keyNames: string[], cols: string[]): AggPartial {
  const n = p.rows;
  const gid = new Int32Array(n);
  const keyCols = keyNames.map((k) => {
    const c = p.columns.get(k);
    if (c === undefined) throw new SkeinError(`skein data: groupBy: no column "${k}"`);
    return c;
  });
  const keys: unknown[][] = keyNames.map(() => []);
  let groups = 0;
  if (keyCols.length === 0) {
    groups = 1;
  } else {
    const index = new Map<unknown, number>();
    const row: unknown[] = new Array(keyCols.length);
    const one: unknown[][] = keyCols.map(() => [undefined]);
    for (let i = 0; i < n; i++) {
      let skip = false;
      for (let c = 0; c < keyCols.length; c++) {
        const v = (keyCols[c] as ArrayLike<unknown>)[i];
        row[c] = v;
        one[c][0] = v;
        if (isNullKey(v)) skip = true;
      }
      if (skip) {
        gid[i] = -1;
        continue;
      }
      const t = tupleKey(one, 0);
      let g = index.get(t);
      if (g === undefined) {
        g = groups++;
        index.set(t, g);
        for (let c = 0; c < keyCols.length; c++) keys[c].push(row[c]);
      }
      gid[i] = g;
    }
  }
  const out = emptyPartial(keyNames, cols, groups);
  out.keys = keys;
  for (let c = 0; c < cols.length; c++) {
    const col = p.columns.get(cols[c]);
    if (col === undefined) throw new SkeinError(`skein data: agg: no column "${cols[c]}"`);
    const x = toF64(col, cols[c]);
    const cnt = out.count[c], sum = out.sum[c], mn = out.min[c], mx = out.max[c], m2 = out.m2[c];
    for (let i = 0; i < n; i++) {
      const g = gid[i];
      const v = x[i];
      if (g < 0 || v !== v) continue;
      cnt[g]++;
      sum[g] += v;
      if (v < mn[g]) mn[g] = v;
      if (v > mx[g]) mx[g] = v;
    }
    // Second pass: squared deviations from each group's mean (exact, unlike sum of squares).
    for (let i = 0; i < n; i++) {
      const g = gid[i];
      const v = x[i];
      if (g < 0 || v !== v) continue;
      const d = v - sum[g] / cnt[g];
      m2[g] += d * d;
    }
  }
  return out;
}

/** Merge partials (any number, zero included) into one. */
export function combineAggTask(keyNames: string[], cols: string[], ...parts: AggPartial[]): AggPartial {
  if (parts.length === 1) return parts[0];
  const index = new Map<unknown, number>();
  const keys: unknown[][] = keyNames.map(() => []);
  const maps = parts.map((pt) => {
    const groups = pt.keys.length ? pt.keys[0].length : 1;
    const m = new Int32Array(groups);
    for (let g = 0; g < groups; g++) {
      const t = keyNames.length ? tupleKey(pt.keys, g) : 0;
      let id = index.get(t);
      if (id === undefined) {
        id = index.size;
        index.set(t, id);
        for (let c = 0; c < keyNames.length; c++) keys[c].push(pt.keys[c][g]);
      }
      m[g] = id;
    }
    return m;
  });
  const groups = keyNames.length ? index.size : 1;
  const out = emptyPartial(keyNames, cols, groups);
  out.keys = keys;
  for (let c = 0; c < cols.length; c++) {
    const cnt = out.count[c], sum = out.sum[c], m2 = out.m2[c], mn = out.min[c], mx = out.max[c];
    parts.forEach((pt, k) => {
      const m = maps[k];
      const pc = pt.count[c], ps = pt.sum[c], pm = pt.m2[c], pmin = pt.min[c], pmax = pt.max[c];
      for (let g = 0; g < m.length; g++) {
        const nb = pc[g];
        if (nb === 0) continue;
        const t = m[g];
        const na = cnt[t];
        if (na === 0) {
          m2[t] = pm[g];
        } else {
          const d = ps[g] / nb - sum[t] / na;
          m2[t] += pm[g] + (d * d * na * nb) / (na + nb);
        }
        cnt[t] = na + nb;
        sum[t] += ps[g];
        if (pmin[g] < mn[t]) mn[t] = pmin[g];
        if (pmax[g] > mx[t]) mx[t] = pmax[g];
      }
    });
  }
  return out;
}

function statOf(pt: AggPartial, c: number, g: number, op: AggOp): number {
  const n = pt.count[c][g];
  switch (op) {
    case "count":
      return n;
    case "sum":
      return pt.sum[c][g];
    case "mean":
      return n > 0 ? pt.sum[c][g] / n : NaN;
    case "min":
      return n > 0 ? pt.min[c][g] : NaN;
    case "max":
      return n > 0 ? pt.max[c][g] : NaN;
    case "std":
      return n > 1 ? Math.sqrt(pt.m2[c][g] / (n - 1)) : NaN;
  }
}

function compareKeys(a: unknown, b: unknown): number {
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "string") return 1;
  if (typeof b === "string") return -1;
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/**
 * The result table: key columns (their own dtypes), then one float64 column per requested
 * statistic (`outputs[k] = [valueColumnIndex, op, name]`); groups sorted by key.
 */
export function finalizeAggTask(pt: AggPartial, keyDtypes: Dtype[], outputs: [number, AggOp, string][]): FramePartition {
  const groups = pt.keyNames.length ? pt.keys[0].length : 1;
  const order = Array.from({ length: groups }, (_, g) => g);
  if (pt.keyNames.length) {
    order.sort((x, y) => {
      for (let c = 0; c < pt.keys.length; c++) {
        const r = compareKeys(pt.keys[c][x], pt.keys[c][y]);
        if (r !== 0) return r;
      }
      return 0;
    });
  }
  const columns = new Map<string, Column>();
  pt.keyNames.forEach((name, c) => {
    const col = allocColumn(keyDtypes[c], groups) as unknown[];
    for (let i = 0; i < groups; i++) col[i] = pt.keys[c][order[i]];
    columns.set(name, col as Column);
  });
  for (const [c, op, name] of outputs) {
    const col = new Float64Array(groups);
    for (let i = 0; i < groups; i++) col[i] = statOf(pt, c, order[i], op);
    columns.set(name, col);
  }
  return { rows: groups, columns };
}

export const DESCRIBE_STATS: readonly AggOp[] = ["count", "mean", "std", "min", "max"];

/** describe()'s table from a partial without keys: a "stat" column, then one column per value column. */
export function finalizeDescribeTask(pt: AggPartial): FramePartition {
  const columns = new Map<string, Column>();
  columns.set("stat", [...DESCRIBE_STATS]);
  pt.cols.forEach((name, c) => {
    const col = new Float64Array(DESCRIBE_STATS.length);
    DESCRIBE_STATS.forEach((op, i) => (col[i] = statOf(pt, c, 0, op)));
    columns.set(name, col);
  });
  return { rows: DESCRIBE_STATS.length, columns };
}

export function describeSchemaOf(cols: readonly string[]): Schema {
  return [{ name: "stat", dtype: "string" }, ...cols.map((name) => ({ name, dtype: "float64" as const }))];
}
