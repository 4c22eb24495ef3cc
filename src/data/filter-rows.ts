/**
 * Row-level evaluation of Parquet-style filters (`[column, op, value]` triples; a list is an
 * AND, a list of lists an OR of ANDs), after row groups were skipped from statistics. Nulls
 * (NaN, null) match no comparison, `!=` included, as in pyarrow.
 */
import { SkeinError } from "../errors.js";
import type { FilterTriple, FilterValue, Filters } from "./parquet/types.js";
import type { Column } from "./types.js";

/** Filters as a list of AND clauses (an OR of them); no clause = no filter. */
export function toClauses(filters: Filters | undefined): FilterTriple[][] {
  if (!filters || filters.length === 0) return [];
  const first = filters[0] as unknown as readonly unknown[];
  if (Array.isArray(first) && Array.isArray(first[0])) return (filters as readonly (readonly FilterTriple[])[]).map((c) => [...c]);
  return [[...(filters as readonly FilterTriple[])]];
}

function num(v: FilterValue): number | string | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  return v;
}

/** Does the value `x` (number, string, bigint, null) satisfy `op value`? */
export function matches(x: unknown, op: FilterTriple[1], value: FilterValue | readonly FilterValue[]): boolean {
  if (x === null || x === undefined || (typeof x === "number" && x !== x)) return false;
  const a = typeof x === "bigint" ? Number(x) : (x as number | string);
  if (op === "in") return (value as readonly FilterValue[]).some((v) => a === num(v));
  const b = num(value as FilterValue);
  if (b === undefined || typeof a !== typeof b) return op === "!=";
  switch (op) {
    case "==":
      return a === b;
    case "!=":
      return a !== b;
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
  }
  throw new SkeinError(`skein data: unknown filter operator "${String(op)}"`);
}

/** 1 where a row satisfies some clause. `columnOf` gives the column of a name. */
export function filterMask(rows: number, clauses: readonly (readonly FilterTriple[])[], columnOf: (name: string) => Column): Uint8Array {
  const mask = new Uint8Array(rows);
  if (clauses.length === 0) return mask.fill(1);
  const clauseMask = new Uint8Array(rows);
  for (const clause of clauses) {
    clauseMask.fill(1);
    for (const [name, op, value] of clause) {
      const col = columnOf(name) as ArrayLike<unknown>;
      for (let i = 0; i < rows; i++) if (clauseMask[i] && !matches(col[i], op, value)) clauseMask[i] = 0;
    }
    for (let i = 0; i < rows; i++) mask[i] |= clauseMask[i];
  }
  return mask;
}
