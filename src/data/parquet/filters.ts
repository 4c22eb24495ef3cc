/**
 * Row-group skipping from min/max statistics. Conservative: a row group is dropped only when
 * its statistics prove that no row can match; missing statistics keep it.
 */
import { ParquetError } from "./errors.js";
import type { ColumnStats, FilterTriple, FilterValue, Filters, ParquetFileInfo, StatValue } from "./types.js";

const OPS = new Set(["==", "!=", "<", "<=", ">", ">=", "in"]);

/**
 * Indices of the row groups of `info` that may hold rows matching `filters` (all of them when
 * `filters` is empty). Throws on an unknown column or operator: a typo should not silently
 * read everything.
 */
export function selectRowGroups(info: ParquetFileInfo, filters: Filters): number[] {
  const clauses = normalise(filters);
  for (const clause of clauses) for (const t of clause) validate(info, t);
  const leafOf = new Map(info.columns.map((c) => [c.name, c.leaf] as const));
  const keep: number[] = [];
  for (const group of info.rowGroups) {
    const nothingMatches = clauses.length > 0 && clauses.every((clause) =>
      clause.some((t) => {
        const leaf = leafOf.get(t[0]) as number;
        const chunk = group.columns[leaf];
        const isFloat = chunk?.physicalType === "FLOAT" || chunk?.physicalType === "DOUBLE";
        return chunk !== undefined && provesEmpty(t, chunk.stats, group.numRows, isFloat);
      }),
    );
    // An empty row group matches nothing either.
    if (!nothingMatches && group.numRows > 0) keep.push(group.index);
  }
  return keep;
}

function normalise(filters: Filters): (readonly FilterTriple[])[] {
  if (filters.length === 0) return [];
  return Array.isArray(filters[0]) && Array.isArray((filters[0] as readonly unknown[])[0])
    ? (filters as readonly (readonly FilterTriple[])[]).slice()
    : [filters as readonly FilterTriple[]];
}

function validate(info: ParquetFileInfo, t: FilterTriple): void {
  if (!Array.isArray(t) || t.length !== 3) {
    throw new ParquetError(info.path, `filter ${JSON.stringify(t, bigintSafe)} is not a [column, op, value] triple`);
  }
  const [name, op, value] = t;
  if (!OPS.has(op)) throw new ParquetError(info.path, `filter on "${name}": unknown operator "${op}" (use ==, !=, <, <=, >, >=, in)`);
  const col = info.columns.find((c) => c.name === name);
  if (!col) throw new ParquetError(info.path, `filter on unknown column "${name}" (columns: ${info.columns.map((c) => c.name).join(", ")})`);
  if (col.nested) throw new ParquetError(info.path, `filter on nested column "${name}" is not supported`);
  if (op === "in" && !Array.isArray(value)) throw new ParquetError(info.path, `filter on "${name}": "in" needs an array of values`);
}

function bigintSafe(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? `${v}n` : v;
}

/** True when the statistics prove that no row of the group satisfies `t`. */
function provesEmpty(t: FilterTriple, stats: ColumnStats | undefined, numRows: number, isFloat: boolean): boolean {
  if (!stats) return false;
  const { min, max } = stats;
  const allNull = stats.nullCount !== undefined && stats.nullCount === numRows;
  // A comparison never matches a null, so a group of nulls only can go; except for "!=",
  // which callers may evaluate with JS semantics (NaN != 3 holds): keep it then.
  if (allNull) return t[1] !== "!=";
  if (min === undefined || max === undefined) return false;
  // Each test is written so that an incomparable or NaN bound answers false (keep the group).
  switch (t[1]) {
    case "==":
      return lt(t[2], min) || lt(max, t[2]);
    case "<":
      return ge(min, t[2]);
    case "<=":
      return lt(t[2], min);
    case ">":
      return ge(t[2], max);
    case ">=":
      return lt(max, t[2]);
    case "!=":
      // Every value equals t[2] and none is null. Not for floats: a NaN value is not in the
      // statistics and NaN != v holds.
      return !isFloat && stats.nullCount === 0 && eq(min, t[2]) && eq(max, t[2]);
    case "in":
      return t[2].every((v) => lt(v, min) || lt(max, v));
  }
}

/**
 * a < b for statistics and filter values. Values of different kinds (a string against a
 * number) are incomparable: false, which keeps the group. Strings compare by code point, the
 * order of their UTF-8 bytes, as Parquet orders them.
 */
function lt(a: StatValue | FilterValue, b: StatValue | FilterValue): boolean {
  const ta = typeof a;
  const tb = typeof b;
  if ((ta === "number" || ta === "bigint") && (tb === "number" || tb === "bigint")) return (a as number) < (b as number);
  if (ta === "string" && tb === "string") return compareCodePoints(a as string, b as string) < 0;
  if (ta === "boolean" && tb === "boolean") return !a && (b as boolean);
  return false;
}

function ge(a: StatValue | FilterValue, b: StatValue | FilterValue): boolean {
  return lt(b, a) || eq(a, b);
}

function eq(a: StatValue | FilterValue, b: StatValue | FilterValue): boolean {
  const ta = typeof a;
  const tb = typeof b;
  if ((ta === "number" || ta === "bigint") && (tb === "number" || tb === "bigint")) return (a as number) == (b as number);
  return a === b;
}

function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    // Surrogates (U+D800..DFFF) stand for code points above U+FFFF: they sort after U+E000..FFFF.
    const sa = ca >= 0xd800 && ca <= 0xdfff;
    const sb = cb >= 0xd800 && cb <= 0xdfff;
    if (sa !== sb) return sa ? 1 : -1;
    return ca - cb;
  }
  return a.length - b.length;
}
